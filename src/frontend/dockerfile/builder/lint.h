#pragma once
// The dockerfile.v0 frontend's side of the build checks (BuildKit's dockerui and builder):
// - build-arg:BUILDKIT_DOCKERFILE_CHECK, which replaces the Dockerfile's `# check=` directive;
// - warnings sent through the bridge as BuildKit sends them (LLBBridge.Warn): the short text
//   "Rule: message (line N)", the rule's description as detail, its URL, the Dockerfile as source
//   info and the lines as ranges, attached to the vertex that loaded the Dockerfile;
// - the `frontend.lint` subrequest (`--opt requestid=frontend.lint`, what `docker buildx build
//   --call=check` asks): the warnings of every stage, and the conversion error if any, as the
//   result.json / result.txt / result.statuscode metadata of BuildKit's lint subrequest.
// Thread-compatible.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frontend/dockerfile/linter/linter.h"
#include "frontend/frontend.h"

namespace kiln::dockerfile {

inline constexpr const char* kLintRequest = "frontend.lint";

// The configuration the build args give, nullopt without BUILDKIT_DOCKERFILE_CHECK.
Result<std::optional<lint::Config>> LintConfigFromOptions(
    const std::map<std::string, std::string>& opts);

// The Dockerfile as the warnings and the lint result name it.
struct LintSource {
  std::string filename;  // as given by the filename option: "Dockerfile", "sub/Dockerfile"
  std::string data;
  std::string vertex;  // digest of the vertex that loaded it
};

// Sends each warning to `bridge` (which must outlive the function).
lint::WarnFn BridgeWarner(frontend::FrontendLLBBridge& bridge, LintSource source);

// The lint subrequest's result: collects warnings, then ToResult() makes the metadata.
class LintResults {
 public:
  explicit LintResults(LintSource source) : source_(std::move(source)) {}

  lint::WarnFn Warner();
  // The conversion failed: its message and lines (start < 1: none).
  void SetError(const Status& st, const SourceRange& where);
  // result.json, result.txt, result.statuscode and version.
  frontend::SolveResult ToResult() const;

 private:
  struct Entry {
    const lint::Rule* rule;
    std::string detail;
    std::vector<SourceRange> location;
  };
  LintSource source_;
  std::vector<Entry> warnings_;
  std::optional<std::pair<std::string, SourceRange>> error_;
};

}  // namespace kiln::dockerfile
