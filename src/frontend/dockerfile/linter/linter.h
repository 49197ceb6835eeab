#pragma once
// Which Dockerfile checks run and what happens to their warnings (BuildKit's linter.Linter):
//
// - The configuration comes from the `# check=` directive, or from the build arg
//   BUILDKIT_DOCKERFILE_CHECK which replaces it: `skip=A,B` or `skip=all`, `experimental=A|all`,
//   `error=true` (ParseLintOptions, BuildKit's messages for malformed values).
// - A `# check=...` comment right above an instruction adds to the configuration for the checks
//   of that instruction (WithComments).
// - Deprecated rules never run; experimental ones only when enabled (skip does not apply to
//   them); the others unless skipped.
// - Error(): with error=true, any rule that reported makes the build fail with "lint violation
//   found for rules: A, B" once the warnings have been sent.
//
// A Linter is a small value; copies made by WithComments share the record of rules that
// reported (so Error sees them all). Thread-compatible.

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/dockerfile/linter/rules.h"
#include "frontend/dockerfile/parser/parser.h"
#include "util/status.h"

namespace kiln::dockerfile::lint {

struct Config {
  bool skip_all = false;
  std::set<std::string> skip;
  bool experimental_all = false;
  std::set<std::string> experimental;
  bool error = false;  // fail the build when a rule reported
};

// "skip=A,B;error=true" (at most three `;` parts). InvalidArgument: `invalid check option "x"`,
// `failed to parse check option "error=maybe": ...`.
Result<Config> ParseLintOptions(std::string_view value);

// One warning: the rule, its message and the Dockerfile lines it is about.
struct Warning {
  const Rule* rule = nullptr;
  std::string message;
  std::vector<SourceRange> location;
};

using WarnFn = std::function<void(const Warning&)>;

class Linter {
 public:
  // A linter that reports nothing (no warning function).
  Linter() = default;
  Linter(Config config, WarnFn warn);

  // Reports `message` for `rule` at `location` unless the configuration says otherwise.
  void Run(const Rule& rule, std::vector<SourceRange> location, std::string message) const;

  // This linter with the `check` directive of an instruction's comments merged in (the first
  // comment that is one; a malformed one is ignored).
  Linter WithComments(const std::vector<std::string>& comments) const;

  // "lint violation found for rules: A, B" (in the order they first reported) when error=true
  // and a rule reported; OK otherwise.
  Status Error() const;

  bool enabled() const { return static_cast<bool>(warn_); }

 private:
  Config config_;
  WarnFn warn_;
  // Rules that reported, shared with the copies WithComments makes.
  std::shared_ptr<std::vector<std::string>> called_ = std::make_shared<std::vector<std::string>>();
};

}  // namespace kiln::dockerfile::lint
