#include "frontend/dockerfile/builder/build.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "frontend/dockerfile/builder/lint.h"
#include "frontend/dockerfile/builder/named_context.h"
#include "frontend/dockerfile/builder/options.h"
#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "frontend/dockerfile/dockerignore.h"
#include "frontend/dockerfile/parser/directives.h"
#include "llb/builder.h"
#include "llb/definition.h"
#include "registry/platform.h"
#include "util/background.h"
#include "util/go_strconv.h"

namespace kiln::dockerfile {
namespace {

std::string Opt(const std::map<std::string, std::string>& opts, const std::string& key,
                const std::string& def = "") {
  auto it = opts.find(key);
  return it == opts.end() || it->second.empty() ? def : it->second;
}

// Reads `path` of a solved local, nullopt when it is not there.
Result<std::optional<std::string>> ReadOptional(const Context& ctx,
                                                frontend::FrontendLLBBridge& bridge,
                                                const frontend::SolveResult& res,
                                                const std::string& path) {
  if (!res.ref) return std::optional<std::string>();
  auto data = bridge.ReadFile(ctx, res.ref, path, 0, 0);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::optional<std::string>();
    return data.status();
  }
  return std::optional<std::string>(std::move(*data));
}

// Whether a `# syntax=` image is the standard Dockerfile frontend, which this one stands in for.
bool IsStandardSyntax(const std::string& ref) {
  std::string r = ref;
  for (const char* prefix : {"docker.io/", "index.docker.io/"}) {
    if (r.rfind(prefix, 0) == 0) r = r.substr(std::string(prefix).size());
  }
  if (r.rfind("docker/dockerfile", 0) != 0) return false;
  std::string rest = r.substr(std::string("docker/dockerfile").size());
  if (rest.empty()) return true;
  if (rest.rfind("-upstream", 0) == 0) rest = rest.substr(9);
  if (rest.empty()) return true;
  if (rest[0] != ':' && rest[0] != '@') return false;
  if (rest[0] == '@') return true;
  std::string tag = rest.substr(1, rest.find('@') - 1);
  return tag == "latest" || tag.rfind("1", 0) == 0;
}

// The platforms to build for (option platform=, comma-separated, normalised); none when the
// option is not given: the build platform, implicitly.
Result<std::vector<registry::Platform>> TargetPlatforms(
    const std::map<std::string, std::string>& opts) {
  std::vector<registry::Platform> out;
  std::string v = Opt(opts, "platform");
  if (v.empty()) return out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t end = std::min(v.find(',', start), v.size());
    std::string p = v.substr(start, end - start);
    auto parsed = registry::ParsePlatform(p);
    if (!parsed.ok()) {
      return InvalidArgument("failed to parse target platform " + p + ": " +
                             parsed.status().message());
    }
    out.push_back(*parsed);
    start = end + 1;
  }
  return out;
}

// Whether the result has one ref per platform (BuildKit's MultiPlatformRequested): several
// targets, or the multi-platform option (or build-arg:BUILDKIT_MULTI_PLATFORM) says so.
Result<bool> MultiPlatform(const std::map<std::string, std::string>& opts, size_t targets) {
  bool multi = targets > 1;
  std::string v = Opt(opts, "build-arg:BUILDKIT_MULTI_PLATFORM", Opt(opts, "multi-platform"));
  if (v.empty()) return multi;
  auto b = GoParseBool(v);
  if (!b.ok()) return InvalidArgument("invalid boolean value for multi-platform: " + v);
  if (!*b && multi) {
    return InvalidArgument(
        "conflicting config: returning multiple target platforms is not allowed");
  }
  return *b;
}

pb::Platform ToPb(const registry::Platform& p) {
  pb::Platform out;
  out.set_os(p.os);
  out.set_architecture(p.architecture);
  out.set_variant(p.variant);
  return out;
}

}  // namespace

Result<frontend::SolveResult> DockerfileFrontend::Solve(
    const Context& ctx, frontend::FrontendLLBBridge& bridge,
    const std::map<std::string, std::string>& opts, const frontend::Inputs& inputs) {
  KILN_ASSIGN_OR_RETURN(std::vector<registry::Platform> targets, TargetPlatforms(opts));
  KILN_ASSIGN_OR_RETURN(bool multi, MultiPlatform(opts, targets.size()));
  std::string filename = Opt(opts, "filename", "Dockerfile");
  // dockerfilekey names the local the Dockerfile comes from, and so excludes a frontend input
  // of that name (as BuildKit's dockerui).
  const bool force_local_dockerfile = opts.contains("dockerfilekey");
  std::string df_local = Opt(opts, "dockerfilekey", "dockerfile");
  std::string ctx_local = "context";
  std::string session = bridge.session_id();
  std::string base_name = filename.substr(filename.rfind('/') + 1);
  std::string load_name = "[internal] load build definition from " + base_name;
  // A lower-case "dockerfile" is also accepted (moby/moby#10858), as by BuildKit.
  std::optional<std::string> lower_name;
  if (base_name == "Dockerfile") {
    lower_name = filename.substr(0, filename.size() - base_name.size()) + "dockerfile";
  }

  // The context's .dockerignore, used only when the Dockerfile has no .dockerignore of its own.
  llb::State::LocalOptions il;
  il.session_id = session;
  il.shared_key_hint = ctx_local;
  il.include_patterns = {std::string(kDockerignoreName)};
  KILN_ASSIGN_OR_RETURN(
      auto ignore_def,
      llb::State::Local(ctx_local, il).WithCustomName("[internal] load .dockerignore").Marshal());
  auto load_context_ignore = [&](const Context& c) -> Result<std::optional<std::string>> {
    KILN_ASSIGN_OR_RETURN(frontend::SolveResult res, bridge.Solve(c, ignore_def));
    return ReadOptional(c, bridge, res, std::string(kDockerignoreName));
  };
  std::optional<Background<std::optional<std::string>>> context_ignore;

  // The Dockerfile and its own .dockerignore: the frontend input named like the Dockerfile's
  // local when the client sent one (buildx does for a Dockerfile on stdin, kilnctl for any
  // small one: no session round trip), else alone from that local.
  pb::Definition df_def;
  auto df_input = inputs.find(df_local);
  if (!force_local_dockerfile && df_input != inputs.end()) {
    df_def = df_input->second;
  } else {
    // Synced alongside the context's .dockerignore: two session round trips at once rather
    // than one after the other (BuildKit loads it after the Dockerfile).
    context_ignore.emplace(ctx, load_context_ignore);
    llb::State::LocalOptions dl;
    dl.session_id = session;
    dl.shared_key_hint = df_local;
    dl.include_patterns = {filename, filename + ".dockerignore"};
    if (lower_name) dl.include_patterns.push_back(*lower_name);
    KILN_ASSIGN_OR_RETURN(df_def,
                          llb::State::Local(df_local, dl).WithCustomName(load_name).Marshal());
  }
  // Warnings are attached to the vertex that loaded the Dockerfile, as BuildKit's.
  KILN_ASSIGN_OR_RETURN(llb::LoadedDefinition df_loaded, llb::LoadDefinition(df_def));
  KILN_ASSIGN_OR_RETURN(frontend::SolveResult df_res, bridge.Solve(ctx, df_def));
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> dockerfile,
                        ReadOptional(ctx, bridge, df_res, filename));
  if (!dockerfile && lower_name) {
    KILN_ASSIGN_OR_RETURN(dockerfile, ReadOptional(ctx, bridge, df_res, *lower_name));
  }
  if (!dockerfile) {
    return InvalidArgument("failed to solve: failed to read dockerfile: open " + filename +
                           ": no such file or directory");
  }
  if (auto syntax = DetectSyntax(*dockerfile)) {
    if (!IsStandardSyntax(syntax->value)) {
      return Unimplemented("Dockerfile syntax " + syntax->value +
                           ": external frontend images are not supported by kiln yet (only the "
                           "standard docker/dockerfile:1 syntax, served by the built-in frontend)");
    }
    // Said in the progress output: the image is not pulled, kiln's own frontend serves it.
    KILN_RETURN_IF_ERROR(bridge.WithProgress(
        "[internal] syntax " + syntax->value + ": served by kiln's built-in Dockerfile frontend",
        [] { return Status::Ok(); }));
  }

  // .dockerignore: the Dockerfile's own, else the context's.
  ReadFileFn read = [&](std::string_view name) -> Result<std::optional<std::string>> {
    if (name != kDockerignoreName) return ReadOptional(ctx, bridge, df_res, std::string(name));
    if (!context_ignore) return load_context_ignore(ctx);
    return context_ignore->Wait();
  };
  KILN_ASSIGN_OR_RETURN(DockerignoreFile ignore, LoadDockerignore(filename, read));
  KILN_ASSIGN_OR_RETURN(std::optional<lint::Config> lint_config, LintConfigFromOptions(opts));
  const LintSource lint_source{filename, *dockerfile, df_loaded.root};
  std::string request = Opt(opts, "requestid");
  if (!request.empty() && request != kLintRequest) {
    return Unimplemented("unsupported request " + request);
  }

  ConvertOptions co;
  co.target = Opt(opts, "target");
  co.session_id = session;
  co.context_name = ctx_local;
  co.context_excludes = ignore.patterns;
  co.dockerfile_name = base_name;
  KILN_RETURN_IF_ERROR(ApplyRunOptions(opts, co));
  for (const auto& [k, v] : opts) {
    if (k.rfind("build-arg:", 0) == 0) co.build_args[k.substr(10)] = v;
    if (k.rfind("label:", 0) == 0) co.labels[k.substr(6)] = v;
  }
  co.build_platform = registry::HostPlatform();
  co.multi_platform = multi;
  std::string resolve_mode = Opt(opts, "image-resolve-mode");
  co.resolve_image = [&](const std::string& ref,
                         const registry::Platform& platform) -> Result<ResolvedImage> {
    frontend::ResolveImageConfigOptions ro;
    ro.platform = ToPb(platform);
    ro.resolve_mode = resolve_mode;
    ResolvedImage out;
    std::string prefix = multi ? "[" + platform.String() + " internal] " : "[internal] ";
    KILN_RETURN_IF_ERROR(bridge.WithProgress(prefix + "load metadata for " + ref, [&]() -> Status {
      KILN_ASSIGN_OR_RETURN(auto r, bridge.ResolveImageConfig(ctx, ref, ro));
      out = ResolvedImage{r.digest, r.config};
      return Status::Ok();
    }));
    return out;
  };

  co.lint_config = lint_config;
  if (request == kLintRequest) {
    // Checks only: every stage when no target is named, nothing solved.
    LintResults results(lint_source);
    ConvertOptions lco = co;
    lco.lint_warn = results.Warner();
    lco.all_stages = lco.target.empty();
    NamedContexts contexts(ctx, bridge, opts, inputs, co.resolve_image);
    lco.named_context = [&](const std::string& name, const registry::Platform& platform) {
      return contexts.Load(name, platform);
    };
    SourceRange where;
    auto conv = Dockerfile2LLB(*dockerfile, lco, &where);
    if (!conv.ok()) results.SetError(conv.status(), where);
    return results.ToResult();
  }

  // One conversion per target platform (BuildKit's dockerui Build), then their solves in
  // parallel. The checks report for the first platform only, as BuildKit's.
  std::vector<std::optional<registry::Platform>> wanted(targets.begin(), targets.end());
  if (wanted.empty()) wanted.push_back(std::nullopt);
  struct PlatformBuild {
    registry::ExportPlatform exp;
    ConvertResult conv;
    Result<frontend::SolveResult> res = Internal("not solved");
  };
  std::vector<PlatformBuild> builds(wanted.size());
  for (size_t i = 0; i < wanted.size(); i++) {
    ConvertOptions pco = co;
    pco.target_platform = wanted[i];
    if (i == 0) pco.lint_warn = BridgeWarner(bridge, lint_source);
    NamedContexts contexts(ctx, bridge, opts, inputs, co.resolve_image);
    pco.named_context = [&](const std::string& name, const registry::Platform& platform) {
      return contexts.Load(name, platform);
    };
    SourceRange where;
    auto conv = Dockerfile2LLB(*dockerfile, pco, &where);
    if (!conv.ok()) {
      // The lines travel as BuildKit's typed source detail, so buildctl and kilnctl show them.
      if (where.start < 1) return conv.status();
      return conv.status().WithSource(
          SourceLocation{filename, *dockerfile, {{where.start, where.end}}});
    }
    builds[i].conv = std::move(*conv);
    registry::Platform p = wanted[i] ? *wanted[i] : registry::HostPlatform();
    builds[i].exp = registry::ExportPlatform{p.String(), p};
  }
  if (builds.size() == 1) {
    builds[0].res = bridge.Solve(ctx, builds[0].conv.definition);
  } else {
    std::vector<std::thread> threads;
    for (auto& b : builds) {
      threads.emplace_back([&ctx, &bridge, &b] { b.res = bridge.Solve(ctx, b.conv.definition); });
    }
    for (auto& t : threads) t.join();
  }
  frontend::SolveResult out;
  std::vector<registry::ExportPlatform> exps;
  for (auto& b : builds) {
    if (!b.res.ok()) return b.res.status();
    if (multi) {
      out.refs[b.exp.id] = b.res->ref;
      out.metadata["containerimage.config/" + b.exp.id] = b.conv.image_config;
    } else {
      out.ref = b.res->ref;
      out.metadata["containerimage.config"] = b.conv.image_config;
    }
    exps.push_back(b.exp);
  }
  // As BuildKit's ResultBuilder.Finalize, for one platform too.
  out.metadata["refs.platforms"] = registry::FormatExportPlatforms(exps);
  return out;
}

}  // namespace kiln::dockerfile
