// The checks of each stage's FROM (BuildKit runs them for every stage, built or not, except
// InvalidBaseImagePlatform which needs the base image).
#include "frontend/dockerfile/linter/checks.h"
#include "frontend/dockerfile/suggest.h"
#include "registry/reference.h"

namespace kiln::dockerfile::lint {

void CheckFromArgs(const std::set<std::string>& unmatched, const std::set<std::string>& known,
                   const Node& from, const Linter& lint) {
  std::vector<std::string> options(known.begin(), known.end());
  for (const std::string& arg : unmatched) {
    if (known.contains(arg)) continue;
    lint.Run(kUndefinedArgInFrom, {from.range()},
             msg::UndefinedArgInFrom(arg, SuggestFrom(arg, options)));
  }
}

void CheckFromPlatform(const std::string& word, const ProcessWordResult& match,
                       const std::string& target_platform, const std::string& stage_name,
                       const Node& from, const Linter& lint) {
  // Only $TARGETPLATFORM (or ${TARGETPLATFORM}) alone, as expanded, is redundant.
  if (match.matched.size() == 1 && match.unmatched.empty() &&
      match.matched.contains("TARGETPLATFORM") && match.result == target_platform) {
    lint.Run(kRedundantTargetPlatform, {from.range()}, msg::RedundantTargetPlatform(word));
  }
  if (!match.matched.empty() || !match.unmatched.empty()) return;  // not a constant
  auto p = registry::ParsePlatform(match.result);
  if (!p.ok()) return;  // an error later
  // A stage named for its platform ("build-arm64") may pin it.
  if (stage_name.find(p->os) != std::string::npos ||
      stage_name.find(p->architecture) != std::string::npos) {
    return;
  }
  lint.Run(kFromPlatformFlagConstDisallowed, {from.range()},
           msg::FromPlatformFlagConstDisallowed(match.result));
}

void CheckDefaultBaseName(const std::string& expanded, const Node& from, const Linter& lint) {
  if (registry::ParseReference(expanded).ok()) return;
  lint.Run(kInvalidDefaultArgInFrom, {from.range()},
           msg::InvalidDefaultArgInFrom(from.next.empty() ? "" : from.next[0]));
}

void CheckBaseImagePlatform(const std::string& image, const registry::Platform& expected,
                            const registry::Platform& actual, const Node& from,
                            const Linter& lint) {
  if (expected.os == actual.os && expected.architecture == actual.architecture) return;
  lint.Run(kInvalidBaseImagePlatform, {from.range()},
           msg::InvalidBaseImagePlatform(image, registry::Normalize(expected).String(),
                                         registry::Normalize(actual).String()));
}

}  // namespace kiln::dockerfile::lint
