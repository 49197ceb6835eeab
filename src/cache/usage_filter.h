#pragma once
// Filters on cache records for du and prune, in the syntax buildctl passes (containerd's
// filters): "type==source.local", "id!=abc", "description~=text" (substring; BuildKit takes a regexp), or a bare field name
// ("inuse", "mutable", "shared", ...) meaning true. Commas join conditions (all must hold);
// several filter strings are alternatives (any may match). Thread-safe once built.

#include <memory>
#include <string>
#include <vector>

#include "cache/manager.h"

namespace kiln::cache {

class UsageFilter {
 public:
  // An unknown field or operator is an InvalidArgument naming the filter.
  static Result<std::shared_ptr<const UsageFilter>> Parse(const std::vector<std::string>& filters);
  bool Match(const UsageInfo& u) const;

  struct Cond {
    std::string field;
    std::string op;  // "==", "!=", "~=", or "" (field is true)
    std::string value;
  };

 private:
  std::vector<std::vector<Cond>> any_;  // empty: everything matches
};

}  // namespace kiln::cache
