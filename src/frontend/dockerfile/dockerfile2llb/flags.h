#pragma once
// Instruction flags (`--name=value` words before the arguments), as BuildKit's BFlags checks
// them: each instruction accepts a fixed set; an unknown flag, a bool flag with a value other
// than true/false, or a string flag without a value is an error. Not thread-safe.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/status.h"

namespace kiln::dockerfile {

class Flags {
 public:
  // `strings` take one value, `lists` may be given several times (RUN --mount), `bools` take no
  // value or =true/=false. A "--" word ends the flags. Errors are BuildKit's: "unknown flag:
  // --fro (did you mean from?)", "duplicate flag specified: --chown", ...
  static Result<Flags> Parse(const std::vector<std::string>& words,
                             const std::set<std::string>& strings,
                             const std::set<std::string>& bools = {},
                             const std::set<std::string>& lists = {});

  std::optional<std::string> Get(const std::string& name) const;  // the last value given
  std::vector<std::string> All(const std::string& name) const;
  bool Bool(const std::string& name) const;
  std::optional<bool> BoolIfGiven(const std::string& name) const;  // nullopt when not given

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, bool> bools_;
};

// Go's time.ParseDuration ("1m30s", "500ms", "2h"), in nanoseconds.
Result<int64_t> ParseGoDuration(const std::string& s);

}  // namespace kiln::dockerfile
