#pragma once
// Internal to the Dockerfile converter (convert.cc, convert_run.cc, convert_copy.cc): the
// per-stage state and the Converter that walks the parsed Dockerfile, one member function per
// instruction family. Not part of the module's interface. Thread-compatible.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "frontend/dockerfile/dockerfile2llb/flags.h"
#include "frontend/dockerfile/dockerfile2llb/image_config.h"
#include "frontend/dockerfile/dockerfile2llb/instructions.h"
#include "frontend/dockerfile/linter/checks.h"
#include "frontend/dockerfile/shell/lex.h"
#include "llb/builder.h"
#include "llb/exec_builder.h"

namespace kiln::dockerfile::convert_internal {

// KILN_ASSIGN_OR_RETURN whose error is placed at a Dockerfile node (inside Converter).
#define KILN_ASSIGN_AT(node, lhs, expr) \
  KILN_ASSIGN_AT_IMPL(KILN_CONCAT(kiln_at_, __LINE__), node, lhs, expr)
#define KILN_ASSIGN_AT_IMPL(tmp, node, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return At(node, tmp.status());   \
  lhs = std::move(tmp).value()

// History texts as BuildKit formats them with Go's fmt: %v of a []string is "[a b]", %q is
// "[\"a\" \"b\"]".
std::string GoList(const std::vector<std::string>& v);

std::string GoQuotedList(const std::vector<std::string>& v);

// %+v of the healthcheck config: "{Test:[CMD-SHELL true] Interval:5s Timeout:0s ...}".
std::string HealthcheckString(const nlohmann::json& hc);

// "user[:group]" (names or numeric ids) as a FileOp owner; names are looked up in the op's
// first input, as BuildKit's WithUser. The group defaults to the user.
pb::ChownOpt ChownFromSpec(const std::string& spec);

// BUILDPLATFORM, TARGETPLATFORM and the other platform ARGs (BuildKit's defaultArgs, less
// TARGETSTAGE), a build arg of the same name winning.
std::map<std::string, std::string> PlatformArgs(
    const registry::Platform& build, const registry::Platform& target,
    const std::map<std::string, std::string>& overrides);

// The "->arm64" BuildKit adds to a step name when a stage of platform `base` builds for another
// target (its TARGET* ARGs, from `env`), "" when they agree or none is declared.
std::string CrossPlatformSuffix(const registry::Platform& base,
                                const std::vector<std::string>& env);

std::string Lower(std::string s);

std::string Upper(std::string s);

// path.Join + Clean for absolute container paths; keeps a trailing slash when `keep_slash`.
std::string CleanPath(const std::string& p);

std::string JoinWorkdir(const std::string& workdir, const std::string& p, bool keep_slash);

struct Stage {
  std::string name;  // lower-cased AS name, or ""
  std::string display;
  int index = 0;
  const Node* from = nullptr;
  std::vector<const Node*> commands;
  bool ignore_cache = false;  // the no-cache option names this stage (or all)
  // Step numbers of progress names: [name 2/5] (BuildKit's cmdIndex/cmdTotal).
  int cmd_total = 0;
  int cmd_index = 0;
  bool in_onbuild = false;  // dispatching a base image's ONBUILD trigger
  bool cmd_set = false;     // CMD was given in this stage (ENTRYPOINT then keeps it)
  // Build checks: CMD/ENTRYPOINT/HEALTHCHECK seen, and whether a WORKDIR was set (here or in a
  // base stage).
  lint::UsedOnce used_once;
  bool workdir_set = false;
  // FROM --platform, else its base stage's, else the target platform; its ops carry it.
  registry::Platform platform;
  // Filled by Build.
  bool built = false;
  bool building = false;
  llb::State state;
  ImageConfig image;
  std::map<std::string, std::string> args;  // declared ARGs with a value, for RUN and expansion
  std::set<std::string> declared;
  // Declared ARGs in order, with their values (BuildKit's buildArgs: RUN history lists them).
  std::vector<std::pair<std::string, std::optional<std::string>>> build_args;
};

class Converter {
 public:
  Converter(const ConvertOptions& opts, const ParseResult& pr, std::string_view dockerfile)
      : opts_(opts), pr_(pr), dockerfile_(dockerfile), lex_(pr.escape_token) {}

  Result<ConvertResult> Run(SourceRange* error_range);

 private:
  Status At(const Node& n, const Status& st);

  // Global ARGs before the first FROM, then stages.
  Status SplitStages();

  Status MetaArg(const Node& n);

  std::vector<std::string> MetaEnv() const;

  // ARG values first, ENV over them (an ENV wins over an ARG of the same name).
  std::vector<std::string> StageEnv(const Stage& s) const;

  // Also reports UndefinedVar while an instruction is being checked (LintScope).
  Result<std::string> Expand(const std::string& w, const std::vector<std::string>& env);

  // Build checks (convert_lint.cc): the linter from the options or the `# check=` directive;
  // the checks of every stage's FROM; the linter of one instruction (its comments merged).
  Status SetUpLint();
  void CheckFroms();
  const lint::Linter& NodeLint() const { return node_lint_ ? *node_lint_ : lint_; }
  // While alive, expansions report the variables they cannot find for `n` of stage `s`.
  class LintScope {
   public:
    LintScope(Converter& c, Stage* s, const Node* n);
    ~LintScope();
    LintScope(const LintScope&) = delete;
    LintScope& operator=(const LintScope&) = delete;

   private:
    Converter& c_;
    Stage* stage_;
    const Node* node_;
    std::optional<lint::Linter> lint_;
  };
  // InvalidBaseImagePlatform for stage `s` FROM the image `name` (its config in s.image).
  void CheckBaseImagePlatform(const Stage& s, const std::string& name);
  // The .dockerignore patterns as a matcher, for CopyIgnoredFile (nullptr when none).
  const fsutil::PatternMatcher* IgnoreMatcher();

  Stage* FindStage(const std::string& ref, int before);
  // A --from value naming a stage (by name or index, before or after), nullptr when it names
  // none; an index past the last stage is an error (convert_deps.cc).
  Result<Stage*> StageOf(const std::string& ref);
  // A cycle of --from dependencies between any stages, needed or not, is an error.
  Status CheckStageCycles();
  // An image for FROM or --from: its normalised name ("docker.io/library/busybox:latest")
  // pinned to the digest it resolved to, and its config.
  struct PinnedImage {
    std::string ref;
    std::string config;
  };
  Result<PinnedImage> ResolveImage(const std::string& name,
                                   const registry::Platform& platform) const;
  // The named context given for `name` (for a stage of `platform`), if any.
  Result<std::optional<NamedContext>> NamedContextFor(const std::string& name,
                                                      const registry::Platform& platform) const;
  // FROM --platform of a stage, expanded with the global ARGs and parsed; nullopt without one.
  Result<std::optional<registry::Platform>> FromPlatform(const Node& from);

  // The progress name of a step: "[stage 2/5] " + text; each call takes the stage's next number.
  std::string StepName(Stage& s, const std::string& text);
  // An instruction's original text as progress shows it: variables expanded where they can be,
  // the instruction word in upper case.
  std::string CommandText(const Stage& s, const std::string& original, bool raw) const;

  Status Build(Stage& s);
  // `state` marked as coming from the instruction being converted.
  llb::State Located(const llb::State& state) const;

  Status Dispatch(Stage& s, const Node& n, const Node& where);

  Status DispatchOne(Stage& s, const Node& n);

  Status Healthcheck(Stage& s, const Node& n);

  Status Workdir(Stage& s, const Node& n);

  Status Run(Stage& s, const Node& n);
  std::optional<pb::ProxyEnv> ProxyEnv() const;

  // --mount=type=bind|cache|tmpfs|secret|ssh,target=...,...
  Status RunMount(Stage& s, llb::ExecBuilder& e, const std::string& spec);

  llb::State ContextState();

  // --from: a stage by name or index, else an image.
  Result<llb::State> FromState(Stage& s, const std::string& ref);

  Status Copy(Stage& s, const Node& n, bool add);

  const ConvertOptions& opts_;
  const ParseResult& pr_;
  std::string_view dockerfile_;  // the text, for the definition's source map
  const Node* where_ = nullptr;  // the instruction being converted, for op locations
  ShellLex lex_;
  SourceRange* error_range_ = nullptr;
  std::vector<Stage> stages_;
  registry::Platform target_platform_;
  std::map<std::string, std::string> platform_args_;  // PlatformArgs for this conversion
  std::map<std::string, std::string> meta_args_;
  std::set<std::string> meta_declared_;
  std::optional<llb::State> context_;
  std::string target_name_;
  std::optional<int64_t> epoch_;  // SOURCE_DATE_EPOCH
  std::vector<std::unique_ptr<ParseResult>> onbuild_nodes_;
  // Build checks.
  lint::Linter lint_;
  std::optional<lint::Linter> node_lint_;  // the instruction being checked, its comments merged
  Stage* lint_stage_ = nullptr;            // with lint_node_: where UndefinedVar reports
  const Node* lint_node_ = nullptr;
  std::vector<const Node*> meta_arg_nodes_;  // the ARGs before the first FROM
  std::optional<fsutil::PatternMatcher> ignore_;
};

}  // namespace kiln::dockerfile::convert_internal
