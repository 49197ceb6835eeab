#include "frontend/dockerfile/builder/build.h"

#include <algorithm>

#include "frontend/dockerfile/builder/named_context.h"
#include "frontend/dockerfile/builder/options.h"
#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "frontend/dockerfile/dockerignore.h"
#include "frontend/dockerfile/parser/directives.h"
#include "llb/builder.h"
#include "util/background.h"

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

// The platform option: kiln builds linux/amd64 only so far, so another platform is an error
// rather than a build that silently differs.
Status CheckUnsupportedOptions(const std::map<std::string, std::string>& opts) {
  auto it = opts.find("platform");
  if (it == opts.end() || it->second.empty()) return Status::Ok();
  const std::string& v = it->second;
  size_t start = 0;
  while (start <= v.size()) {
    size_t end = std::min(v.find(',', start), v.size());
    std::string p = v.substr(start, end - start);
    if (p != "linux/amd64" && p != "linux/x86_64" && p != "linux/amd64/v1") {
      return Unimplemented("frontend option platform=" + v +
                           ": kiln builds for linux/amd64 only so far");
    }
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace

Result<frontend::SolveResult> DockerfileFrontend::Solve(
    const Context& ctx, frontend::FrontendLLBBridge& bridge,
    const std::map<std::string, std::string>& opts) {
  KILN_RETURN_IF_ERROR(CheckUnsupportedOptions(opts));
  std::string filename = Opt(opts, "filename", "Dockerfile");
  std::string df_local = Opt(opts, "contextkey", "dockerfile");
  std::string ctx_local = "context";
  std::string session = bridge.session_id();

  // The context's .dockerignore is loaded alongside the Dockerfile: two session round trips
  // at once rather than one after the other (BuildKit loads it after the Dockerfile). Its
  // result is only used when the Dockerfile has no .dockerignore of its own.
  llb::State::LocalOptions il;
  il.session_id = session;
  il.shared_key_hint = ctx_local;
  il.include_patterns = {std::string(kDockerignoreName)};
  KILN_ASSIGN_OR_RETURN(
      auto ignore_def,
      llb::State::Local(ctx_local, il).WithCustomName("[internal] load .dockerignore").Marshal());
  Background<std::optional<std::string>> context_ignore(
      ctx, [&](const Context& c) -> Result<std::optional<std::string>> {
        KILN_ASSIGN_OR_RETURN(frontend::SolveResult res, bridge.Solve(c, ignore_def));
        return ReadOptional(c, bridge, res, std::string(kDockerignoreName));
      });

  // The Dockerfile and its own .dockerignore, alone from the dockerfile local.
  std::string base_name = filename.substr(filename.rfind('/') + 1);
  llb::State::LocalOptions dl;
  dl.session_id = session;
  dl.shared_key_hint = df_local;
  dl.include_patterns = {filename, filename + ".dockerignore"};
  auto df_def = llb::State::Local(df_local, dl)
                    .WithCustomName("[internal] load build definition from " + base_name)
                    .Marshal();
  if (!df_def.ok()) return df_def.status();
  KILN_ASSIGN_OR_RETURN(frontend::SolveResult df_res, bridge.Solve(ctx, *df_def));
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> dockerfile,
                        ReadOptional(ctx, bridge, df_res, filename));
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
    return context_ignore.Wait();
  };
  KILN_ASSIGN_OR_RETURN(DockerignoreFile ignore, LoadDockerignore(filename, read));

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
  std::string resolve_mode = Opt(opts, "image-resolve-mode");
  co.resolve_image = [&](const std::string& ref) -> Result<ResolvedImage> {
    frontend::ResolveImageConfigOptions ro;
    pb::Platform p;
    p.set_os("linux");
    p.set_architecture("amd64");
    ro.platform = p;
    ro.resolve_mode = resolve_mode;
    ResolvedImage out;
    KILN_RETURN_IF_ERROR(
        bridge.WithProgress("[internal] load metadata for " + ref, [&]() -> Status {
          KILN_ASSIGN_OR_RETURN(auto r, bridge.ResolveImageConfig(ctx, ref, ro));
          out = ResolvedImage{r.digest, r.config};
          return Status::Ok();
        }));
    return out;
  };
  NamedContexts contexts(ctx, bridge, opts, co.resolve_image);
  co.named_context = [&](const std::string& name) { return contexts.Load(name); };
  SourceRange where;
  auto conv = Dockerfile2LLB(*dockerfile, co, &where);
  if (!conv.ok()) {
    // The lines travel as BuildKit's typed source detail, so buildctl and kilnctl show them.
    if (where.start < 1) return conv.status();
    return conv.status().WithSource(
        SourceLocation{filename, *dockerfile, {{where.start, where.end}}});
  }
  KILN_ASSIGN_OR_RETURN(frontend::SolveResult res, bridge.Solve(ctx, conv->definition));
  res.metadata["containerimage.config"] = conv->image_config;
  return res;
}

}  // namespace kiln::dockerfile
