// The checks of the instructions of the stages a build converts (BuildKit's dispatch).
#include <algorithm>

#include "frontend/dockerfile/dockerfile2llb/config_values.h"
#include "frontend/dockerfile/linter/checks.h"
#include "frontend/dockerfile/suggest.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile::lint {

namespace {

using internal::AsciiLower;

// BuildKit's secrets pattern: a `_`-separated part of the name is one of these words (any
// case), and none is one of the allowed words.
bool LooksSecret(const std::string& key) {
  static const std::set<std::string> deny = {"apikey", "auth",     "credential", "credentials",
                                             "key",    "password", "pword",      "passwd",
                                             "secret", "token"};
  static const std::set<std::string> allow = {"public", "file", "version"};
  bool denied = false;
  size_t start = 0;
  while (true) {
    size_t us = key.find('_', start);
    std::string part = AsciiLower(key.substr(start, us - start));
    if (allow.contains(part)) return false;
    denied |= deny.contains(part);
    if (us == std::string::npos) break;
    start = us + 1;
  }
  return denied;
}

// Build args the frontend reads itself; they never reach the environment.
bool IsNonEnvArg(const std::string& name) {
  return name == "BUILDKIT_SBOM_SCAN_CONTEXT" || name == "BUILDKIT_SBOM_SCAN_STAGE";
}

}  // namespace

void CheckShellForm(const Node& n, bool shell_set, const Linter& lint) {
  if (n.json || shell_set) return;
  lint.Run(kJSONArgsRecommended, {n.range()}, msg::JSONArgsRecommended(WrittenName(n)));
}

void CheckKeyValues(const Node& n, const std::vector<std::string>& expanded_keys,
                    const Linter& lint) {
  // The parser keeps (key, value, separator) triples; the legacy form has no "=".
  for (size_t i = 0; i + 2 < n.next.size(); i += 3) {
    if (n.next[i + 2].empty()) {
      lint.Run(kLegacyKeyValueFormat, {n.range()}, msg::LegacyKeyValueFormat(WrittenName(n)));
    }
    if (n.value == "env" && i / 3 < expanded_keys.size())
      CheckArgKey(n, expanded_keys[i / 3], lint);
  }
}

void CheckArgKey(const Node& n, const std::string& key, const Linter& lint) {
  if (!LooksSecret(key)) return;
  lint.Run(kSecretsUsedInArgOrEnv, {n.range()},
           msg::SecretsUsedInArgOrEnv(n.value == "env" ? "ENV" : "ARG", key));
}

void CheckWorkdir(const Node& n, const std::string& path, const Linter& lint) {
  if (!path.empty() && path[0] == '/') return;
  lint.Run(kWorkdirRelativePath, {n.range()}, msg::WorkdirRelativePath(path));
}

void CheckExposePort(const Node& n, const std::string& spec, const Linter& lint) {
  PortSpec p = SplitPortSpec(spec);
  if (p.proto != AsciiLower(p.proto)) {
    lint.Run(kExposeProtoCasing, {n.range()}, msg::ExposeProtoCasing(spec));
  }
  if (!p.ip.empty() || !p.host_port.empty()) {
    lint.Run(kExposeInvalidFormat, {n.range()}, msg::ExposeInvalidFormat(spec));
  }
}

void CheckUndefinedVars(const Node& n, const std::set<std::string>& unmatched,
                        const std::set<std::string>& declared, const std::vector<std::string>& env,
                        const Linter& lint) {
  std::vector<std::string> keys;
  for (const auto& kv : env) {
    std::string k = kv.substr(0, kv.find('='));
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  for (const std::string& v : unmatched) {
    if (declared.contains(v) || IsNonEnvArg(v)) continue;
    lint.Run(kUndefinedVar, {n.range()}, msg::UndefinedVar(v, SuggestFrom(v, keys)));
  }
}

void CheckCopySource(const Node& n, bool add, const std::string& src,
                     const fsutil::PatternMatcher* ignore, const Linter& lint) {
  if (ignore == nullptr || ignore->empty() || ignore->has_exceptions()) return;
  const std::string cmd = add ? "Add" : "Copy";
  // Matched as a path below the context root, shown as cleaned (filepath.Clean).
  std::string rel = src;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty() || rel == ".") {
    // The context root itself: only a pattern that excludes every entry excludes it.
    for (const auto& p : ignore->patterns()) {
      if (!p.exclusion() && (p.text() == "*" || p.text() == "**" || p.text() == "**/*")) {
        lint.Run(kCopyIgnoredFile, {n.range()}, msg::CopyIgnoredFile(cmd, src));
        return;
      }
    }
    return;
  }
  if (!ignore->MatchesOrParentMatches(rel)) return;
  lint.Run(kCopyIgnoredFile, {n.range()}, msg::CopyIgnoredFile(cmd, src));
}

void UsedOnce::Mark(const Node& n, const Linter& lint) {
  std::optional<SourceRange>* slot = n.value == "cmd"          ? &cmd_
                                     : n.value == "entrypoint" ? &entrypoint_
                                                               : &healthcheck_;
  if (*slot) {
    // The earlier one is reported: it is the one without effect.
    lint.Run(kMultipleInstructionsDisallowed, {**slot},
             msg::MultipleInstructionsDisallowed(WrittenName(n)));
  }
  *slot = n.range();
}

}  // namespace kiln::dockerfile::lint
