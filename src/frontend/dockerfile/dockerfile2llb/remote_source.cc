#include "frontend/dockerfile/dockerfile2llb/remote_source.h"

#include "frontend/dockerfile/dockerfile2llb/git_ref.h"
#include "util/digest.h"
#include "util/git_url.h"
#include "util/path.h"
#include "util/url.h"

namespace kiln::dockerfile {

namespace {

// The copy BuildKit's CopyInfo{Mode, CreateDestPath} makes: no symlink following, no
// wildcards, no unpacking, the instruction's mode, owner and excludes.
pb::FileActionCopy RemoteCopyAction(const pb::FileActionCopy& base) {
  pb::FileActionCopy c;
  c.set_mode(base.mode());
  c.set_timestamp(-1);
  c.set_createdestpath(true);
  if (base.has_owner()) *c.mutable_owner() = base.owner();
  for (const auto& e : base.exclude_patterns()) c.add_exclude_patterns(e);
  return c;
}

}  // namespace

// llb.Git(remote, "", ...): "git://<host>/<path>[#ref[:subdir]]" with the full URL in an attr.
llb::State GitRefSource(const GitRef& g, bool keep_git_dir, const std::string& checksum,
                        const std::string& name) {
  std::string id;
  bool ssh = false;
  if (auto u = ParseGitUrl(g.remote); u.ok()) {
    id = u->host + CleanPath("/" + u->path);
    ssh = u->scheme == "ssh";
  } else {
    id = g.remote;
  }
  if (!g.ref.empty() || !g.subdir.empty()) {
    id += "#" + g.ref;
    if (!g.subdir.empty()) id += ":" + g.subdir;
  }
  std::map<std::string, std::string> attrs = {{"git.fullurl", g.remote},
                                              {"git.authtokensecret", "GIT_AUTH_TOKEN"},
                                              {"git.authheadersecret", "GIT_AUTH_HEADER"}};
  if (keep_git_dir) attrs["git.keepgitdir"] = "true";
  if (ssh) attrs["git.mountsshsock"] = "default";
  if (!checksum.empty()) attrs["git.checksum"] = checksum;
  if (g.submodules.has_value() && !*g.submodules) attrs["git.skipsubmodules"] = "true";
  if (g.fetch_by_commit) attrs["git.fetchbycommit"] = "true";
  return llb::State::Source("git://" + id, std::move(attrs)).WithCustomName(name);
}

bool IsGitSource(const std::string& src) {
  GitRefParse p = ParseGitRef(src);
  return p.ref.has_value() && p.is_git;
}

bool IsHttpSource(const std::string& src) {
  if (src.rfind("http://", 0) != 0 && src.rfind("https://", 0) != 0) return false;
  return !IsGitSource(src);
}

Result<std::optional<RemoteCopy>> RemoteCopyFor(const std::string& src,
                                                const RemoteCopyOptions& o) {
  if (!o.checksum.empty() && o.sources != 1) {
    return InvalidArgument("checksum can't be specified for multiple sources");
  }
  GitRefParse git = ParseGitRef(src);
  if (!git.error.ok() && git.is_git) return git.error;
  if (git.ref.has_value() && !git.ref->indistinguishable_from_local) {
    if (!o.add) return InvalidArgument("source can't be a git ref for COPY");
    const GitRef& g = *git.ref;
    if (o.keep_git_dir && g.keep_git_dir && *o.keep_git_dir != *g.keep_git_dir) {
      return InvalidArgument("inconsistent keep-git-dir configuration");
    }
    bool keep = g.keep_git_dir.value_or(o.keep_git_dir.value_or(false));
    if (!o.checksum.empty() && !g.checksum.empty() && o.checksum != g.checksum) {
      return InvalidArgument("checksum mismatch \"" + o.checksum + "\" != \"" + g.checksum + "\"");
    }
    std::string checksum = g.checksum.empty() ? o.checksum : g.checksum;
    return std::optional<RemoteCopy>(
        RemoteCopy{GitRefSource(g, keep, checksum, o.step_name), "/", RemoteCopyAction(o.base)});
  }
  if (!IsHttpSource(src)) {
    if (!o.checksum.empty()) return InvalidArgument("checksum requires HTTP(S) or Git sources");
    return std::optional<RemoteCopy>();
  }
  if (!o.add) return InvalidArgument("source can't be a URL for COPY");
  // Remote files are named after the URL's last path element, and unpacked only when asked
  // (ADD --unpack=true).
  std::string name = "__unnamed__";
  if (auto u = ParseUrl(src); u.ok()) {
    std::string base(Base(CleanPath(u->path)));
    if (!base.empty() && base != "." && base != "/") name = base;
  }
  std::map<std::string, std::string> attrs = {{"http.filename", name}};
  if (!o.checksum.empty()) {
    auto d = Digest::Parse(o.checksum);
    if (!d.ok()) {
      return InvalidArgument("invalid checksum \"" + o.checksum +
                             "\": want sha256:<64 hex digits>");
    }
    attrs["http.checksum"] = d->str();
  }
  llb::State st = llb::State::Source(src, std::move(attrs)).WithCustomName(o.step_name);
  pb::FileActionCopy copy = RemoteCopyAction(o.base);
  copy.set_attemptunpackdockercompatibility(o.unpack);
  return std::optional<RemoteCopy>(RemoteCopy{st, "/" + name, copy});
}

}  // namespace kiln::dockerfile
