#pragma once
// Dockerfile → LLB (BuildKit's dockerfile2llb): splits the parsed Dockerfile into stages,
// expands words with the shell lexer, and builds each stage the target needs as an LLB state
// plus the image config the exporters write. Independent stages become independent LLB
// branches, so the solver runs them in parallel. Thread-compatible; no I/O of its own (base
// image configs come through `resolve_image`).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontend/dockerfile/linter/linter.h"
#include "frontend/dockerfile/parser/parser.h"
#include "llb/builder.h"
#include "pb/ops.pb.h"
#include "registry/platform.h"
#include "util/status.h"

namespace kiln::dockerfile {

struct ResolvedImage {
  std::string digest;  // pins FROM to what the reference resolved to
  std::string config;  // the image config JSON
};

// A named context (frontend option context:NAME=...): what FROM NAME, COPY --from=NAME and
// RUN --mount=from=NAME use instead of a stage or an image of that name.
struct NamedContext {
  llb::State state;
  std::optional<std::string> config;  // the image config JSON, for docker-image:// contexts
};

struct ConvertOptions {
  std::string target;                             // stage name; "" is the last stage
  std::map<std::string, std::string> build_args;  // build-arg:NAME
  std::map<std::string, std::string> labels;      // label:NAME, added to the final image
  std::string session_id;                         // put on the local context source
  std::string context_name = "context";           // the local the COPY sources come from
  std::vector<std::string> context_excludes;      // from .dockerignore
  std::string dockerfile_name = "Dockerfile";     // for error messages
  // An image's digest and config for a platform (the one of the stage that uses it).
  std::function<Result<ResolvedImage>(const std::string& ref, const registry::Platform& platform)>
      resolve_image;
  // The named context for a name as a stage of `platform` uses it (`name::platform` first),
  // nullopt when none is given (unset: none ever is).
  std::function<Result<std::optional<NamedContext>>(const std::string& name,
                                                    const registry::Platform& platform)>
      named_context;
  // Platforms, as BuildKit's platformOpt: the platform this conversion builds for (the
  // frontend's `platform` option; unset: the build platform, and the image config keeps its
  // base image's platform), and the platform of the worker (BUILDPLATFORM), both normalised.
  std::optional<registry::Platform> target_platform;
  registry::Platform build_platform{"linux", "amd64", "", "", {}};
  // Several platforms are built (or multi-platform was asked for): step names start with the
  // platform, "[linux/arm64 2/3] RUN ...".
  bool multi_platform = false;
  // no-cache: nullopt caches everything; an empty list re-runs every stage; else the stages
  // named (case-insensitive).
  std::optional<std::vector<std::string>> no_cache;
  // Applied to every RUN (frontend options add-hosts, shm-size, ulimit, force-network-mode).
  std::vector<std::pair<std::string, std::string>> extra_hosts;  // host, IP
  int64_t shm_size = 0;                                          // bytes of /dev/shm; 0 default
  std::vector<pb::Ulimit> ulimits;
  pb::NetMode network_mode = pb::UNSET;  // RUN's default; RUN --network overrides it
  // The build's SOURCE_DATE_EPOCH (unix seconds), when set: history times and WORKDIR's mkdir.
  std::optional<int64_t> epoch;
  // Build checks (docs/dockerfile.md): where their warnings go (unset: no check runs), and the
  // configuration of build-arg:BUILDKIT_DOCKERFILE_CHECK, which replaces the `# check=`
  // directive. With error=true a check that reported fails the conversion.
  lint::WarnFn lint_warn;
  std::optional<lint::Config> lint_config;
  // Convert every stage, not only those the target needs (what the lint subrequest checks).
  bool all_stages = false;
};

struct ConvertResult {
  pb::Definition definition;
  std::string image_config;  // JSON, the "containerimage.config" of the result
};

// Errors are InvalidArgument naming the Dockerfile and line, e.g.
// "Dockerfile:3: unknown flag: --fro"; `error_range` receives the lines when given.
Result<ConvertResult> Dockerfile2LLB(std::string_view dockerfile, const ConvertOptions& opts,
                                     SourceRange* error_range = nullptr);

}  // namespace kiln::dockerfile
