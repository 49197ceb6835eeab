#pragma once
// The Dockerfile checks, as functions of what they look at. The converter calls them where
// BuildKit's dockerfile2llb runs each rule, so the same instructions are checked: the whole file
// (CheckParsed) before any stage is converted, each FROM of every stage, and the instructions of
// the stages the build converts. Stateless; thread-safe (the Linter is the caller's).

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "frontend/dockerfile/linter/linter.h"
#include "frontend/dockerfile/parser/parser.h"
#include "frontend/dockerfile/shell/lex.h"
#include "fsutil/pattern_matcher.h"
#include "registry/platform.h"

namespace kiln::dockerfile::lint {

// The instruction word as written ("from", "FROM", "From").
std::string WrittenName(const Node& n);

// checks_parse.cc: NoEmptyContinuation, MaintainerDeprecated, StageNameCasing, FromAsCasing,
// InvalidDefinitionDescription, ReservedStageName, DuplicateStageName and
// ConsistentInstructionCasing over the whole file.
void CheckParsed(const ParseResult& pr, const Linter& lint);

// checks_from.cc, for each stage's FROM:
// UndefinedArgInFrom: variables of the base name or --platform that no global ARG declares.
void CheckFromArgs(const std::set<std::string>& unmatched, const std::set<std::string>& known,
                   const Node& from, const Linter& lint);
// RedundantTargetPlatform and FromPlatformFlagConstDisallowed for `--platform=<word>`, expanded
// as `match`; `target_platform` is the value of TARGETPLATFORM.
void CheckFromPlatform(const std::string& word, const ProcessWordResult& match,
                       const std::string& target_platform, const std::string& stage_name,
                       const Node& from, const Linter& lint);
// InvalidDefaultArgInFrom: the base name expanded with the global ARGs' defaults only.
void CheckDefaultBaseName(const std::string& expanded, const Node& from, const Linter& lint);
// InvalidBaseImagePlatform: the base image's platform against the stage's.
void CheckBaseImagePlatform(const std::string& image, const registry::Platform& expected,
                            const registry::Platform& actual, const Node& from, const Linter& lint);

// checks_instructions.cc, for instructions of converted stages:
// JSONArgsRecommended: a CMD or ENTRYPOINT in shell form while no SHELL is set.
void CheckShellForm(const Node& n, bool shell_set, const Linter& lint);
// LegacyKeyValueFormat (ENV, LABEL) and, for ENV, SecretsUsedInArgOrEnv.
void CheckKeyValues(const Node& n, const std::vector<std::string>& expanded_keys,
                    const Linter& lint);
// SecretsUsedInArgOrEnv for `ARG key`.
void CheckArgKey(const Node& n, const std::string& key, const Linter& lint);
// WorkdirRelativePath for the first WORKDIR a stage sets.
void CheckWorkdir(const Node& n, const std::string& path, const Linter& lint);
// ExposeProtoCasing and ExposeInvalidFormat for one expanded port spec.
void CheckExposePort(const Node& n, const std::string& spec, const Linter& lint);
// UndefinedVar: variables an expansion looked up that are neither set nor declared ARGs.
void CheckUndefinedVars(const Node& n, const std::set<std::string>& unmatched,
                        const std::set<std::string>& declared, const std::vector<std::string>& env,
                        const Linter& lint);
// CopyIgnoredFile: a COPY/ADD source from the context that .dockerignore excludes (`ignore`
// without exception patterns; nullptr skips the check). `src` is cleaned ("a/b", "/a", ".").
void CheckCopySource(const Node& n, bool add, const std::string& src,
                     const fsutil::PatternMatcher* ignore, const Linter& lint);

// MultipleInstructionsDisallowed: the stage's CMD, ENTRYPOINT and HEALTHCHECK seen so far; the
// earlier of two is reported, as it is the one that has no effect.
class UsedOnce {
 public:
  void Mark(const Node& n, const Linter& lint);

 private:
  std::optional<SourceRange> cmd_, entrypoint_, healthcheck_;
};

}  // namespace kiln::dockerfile::lint
