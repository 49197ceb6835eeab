#include "frontend/dockerfile/builder/named_context.h"

#include "frontend/dockerfile/dockerfile2llb/git_ref.h"
#include "frontend/dockerfile/dockerfile2llb/remote_source.h"
#include "frontend/dockerfile/dockerignore.h"
#include "registry/reference.h"

namespace kiln::dockerfile {

Result<std::optional<NamedContext>> NamedContexts::Load(const std::string& name,
                                                        const registry::Platform& platform) {
  auto ref = registry::ParseReference(name);
  if (!ref.ok()) {
    return InvalidArgument("invalid context name " + name + ": " + ref.status().message());
  }
  std::string familiar = ref->Familiar();
  const std::string latest = ":latest";
  if (familiar.size() > latest.size() &&
      familiar.compare(familiar.size() - latest.size(), latest.size(), latest) == 0) {
    familiar.resize(familiar.size() - latest.size());
  }
  std::string key = familiar + "::" + platform.String();
  auto it = opts_.find("context:" + key);
  if (it == opts_.end()) {
    key = familiar;
    it = opts_.find("context:" + key);
  }
  if (it == opts_.end()) return std::optional<NamedContext>();
  const std::string& value = it->second;
  size_t colon = value.find(':');
  if (colon == std::string::npos) {
    return InvalidArgument("invalid context specifier " + value + " for " + key);
  }
  std::string kind = value.substr(0, colon);
  std::string rest = value.substr(colon + 1);
  if (kind.rfind("git@", 0) == 0) kind = "git";
  if (kind == "docker-image") {
    if (rest.rfind("//", 0) == 0) rest = rest.substr(2);
    KILN_ASSIGN_OR_RETURN(NamedContext nc, LoadImage(key, rest, platform));
    return std::optional<NamedContext>(std::move(nc));
  }
  if (kind == "local") {
    KILN_ASSIGN_OR_RETURN(NamedContext nc, LoadLocal(key, rest));
    return std::optional<NamedContext>(std::move(nc));
  }
  if (kind == "git" || kind == "http" || kind == "https") {
    KILN_ASSIGN_OR_RETURN(NamedContext nc, LoadRemote(key, kind, value));
    return std::optional<NamedContext>(std::move(nc));
  }
  if (kind == "oci-layout") {
    if (rest.rfind("//", 0) == 0) rest = rest.substr(2);
    KILN_ASSIGN_OR_RETURN(NamedContext nc, LoadOCILayout(name, key, rest, platform));
    return std::optional<NamedContext>(std::move(nc));
  }
  if (kind == "input") {
    KILN_ASSIGN_OR_RETURN(NamedContext nc, LoadInput(key, rest));
    return std::optional<NamedContext>(std::move(nc));
  }
  return InvalidArgument("unsupported context source " + kind + " for " + key);
}

Result<NamedContext> NamedContexts::LoadImage(const std::string& key, const std::string& ref,
                                              const registry::Platform& platform) {
  NamedContext nc;
  if (ref == "scratch") return nc;
  KILN_ASSIGN_OR_RETURN(registry::Reference parsed, registry::ParseReference(ref));
  KILN_ASSIGN_OR_RETURN(ResolvedImage resolved, resolve_(parsed.String(), platform));
  std::string pinned = parsed.String();
  if (parsed.digest.empty() && !resolved.digest.empty()) pinned += "@" + resolved.digest;
  nc.state =
      llb::State::Image(pinned, platform.String()).WithCustomName("[context " + key + "] " + ref);
  nc.config = resolved.config;
  return nc;
}

// A git ref: the repository's tree, as the build context (dockerui's DetectGitContext). An
// http(s) URL that is not a git ref: a tree holding the downloaded file as /context.
Result<NamedContext> NamedContexts::LoadRemote(const std::string& key, const std::string& kind,
                                               const std::string& value) {
  GitRefParse git = ParseGitRef(value);
  NamedContext nc;
  if (git.is_git && git.ref.has_value() && git.error.ok()) {
    const GitRef& g = *git.ref;
    nc.state = GitRefSource(g, g.keep_git_dir.value_or(false), g.checksum,
                            "[internal] load git source " + value);
    return nc;
  }
  if (kind == "git" || git.is_git) {
    if (!git.error.ok()) return git.error.Annotate("invalid git context " + value);
    return InvalidArgument("invalid git context " + value);
  }
  nc.state = llb::State::Source(value, {{"http.filename", "context"}})
                 .WithCustomName("[context " + key + "] " + value);
  return nc;
}

Result<NamedContext> NamedContexts::LoadLocal(const std::string& key, const std::string& local) {
  if (local.empty()) return InvalidArgument("invalid context specifier local: for " + key);
  // The local's own .dockerignore first, alone.
  llb::State::LocalOptions il;
  il.session_id = bridge_.session_id();
  il.follow_paths = {std::string(kDockerignoreName)};
  il.shared_key_hint = "context:" + key + "-" + std::string(kDockerignoreName);
  KILN_ASSIGN_OR_RETURN(
      auto def, llb::State::Local(local, il)
                    .WithCustomName("[context " + key + "] load " + std::string(kDockerignoreName))
                    .Marshal());
  KILN_ASSIGN_OR_RETURN(frontend::SolveResult res, bridge_.Solve(ctx_, def));
  std::vector<std::string> excludes;
  if (res.ref) {
    auto data = bridge_.ReadFile(ctx_, res.ref, std::string(kDockerignoreName), 0, 0);
    if (data.ok() && !data->empty()) {
      auto patterns = ReadDockerignore(*data);
      if (!patterns.ok()) {
        return patterns.status().Annotate("failed parsing " + std::string(kDockerignoreName));
      }
      excludes = std::move(*patterns);
    }
  }
  llb::State::LocalOptions lo;
  lo.session_id = bridge_.session_id();
  lo.shared_key_hint = local;
  lo.exclude_patterns = std::move(excludes);
  NamedContext nc;
  nc.state = llb::State::Local(local, lo).WithCustomName("[context " + key + "] load from client");
  return nc;
}

}  // namespace kiln::dockerfile
