#pragma once
// Selector: which entries of a copy source a FileActionCopy takes, from its include_patterns
// and exclude_patterns (moby patternmatcher semantics, matched against paths relative to the
// copied source). An entry is taken when it (or a parent) matches an include pattern, or there
// are none, and no exclude pattern matches it. A directory that is not taken is still searched
// when something below it could be, and is then created for what it holds.
//
// WalkSelected visits the entries of a tree that a copy with a Selector writes, in the order
// the copy writes them; the copy uses it to check the destination beforehand and to apply
// per-entry modes afterwards.
//
// Immutable after Create; thread-safe.

#include <sys/stat.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fsutil/pattern_matcher.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::llbsolver::file {

class Selector {
 public:
  // InvalidArgument "invalid include patterns: ..." for a malformed pattern.
  static Result<Selector> Create(const std::vector<std::string>& include,
                                 const std::vector<std::string>& exclude);

  bool empty() const { return include_.empty() && exclude_.empty(); }
  // Whether the entry at rel ("a/b") is copied.
  bool Take(std::string_view rel) const;
  // Whether directory rel, not taken itself, may hold entries that are.
  bool Search(std::string_view rel) const;

 private:
  bool Included(std::string_view rel) const;
  bool Excluded(std::string_view rel) const;

  fsutil::PatternMatcher include_;
  fsutil::PatternMatcher exclude_;
};

// Calls visit(rel, lstat of src/rel) for src itself (rel "") and then, depth first in byte
// order, for every entry the copy writes: taken entries, and directories that are not taken
// but hold a taken entry (visited just before the first one). Stops at the first error.
Status WalkSelected(
    const Context& ctx, const std::string& src, const Selector& selector,
    const std::function<Status(const std::string& rel, const struct stat& st)>& visit);

}  // namespace kiln::llbsolver::file
