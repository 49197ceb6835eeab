#include "source/git_identifier.h"

#include <algorithm>
#include <cctype>

#include "util/git_url.h"

namespace kiln::source {

bool IsCommitSha(std::string_view s) {
  return (s.size() == 40 || s.size() == 64) && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<GitIdentifier> ParseGit(const pb::SourceOp& op) {
  constexpr std::string_view kScheme = "git://";
  const std::string& ident = op.identifier();
  auto where = [&](const Status& s) { return s.Annotate("source \"" + ident + "\""); };
  if (ident.rfind(kScheme, 0) != 0) {
    return InvalidArgument("source \"" + ident + "\" is not a git:// identifier");
  }
  // BuildKit's NewGitIdentifier: a remote without a git transport is https.
  std::string remote = ident.substr(kScheme.size());
  if (!IsGitTransport(remote)) remote = "https://" + remote;
  auto url = ParseGitUrl(remote);
  if (!url.ok()) return where(url.status());
  GitIdentifier id;
  id.remote = url->remote;
  id.ref = url->ref;
  id.subdir = url->subdir;
  for (const auto& [k, v] : op.attrs()) {
    if (k == "git.keepgitdir") {
      id.keep_git_dir = v == "true";
    } else if (k == "git.fullurl") {
      std::string full = IsGitTransport(v) ? v : "https://" + v;
      auto fu = ParseGitUrl(full);
      if (!fu.ok()) return where(fu.status().Annotate("git.fullurl"));
      id.remote = full;
    } else if (k == "git.checksum") {
      id.checksum = v;
    } else if (k == "git.skipsubmodules") {
      id.skip_submodules = v == "true";
    } else if (k == "git.mtime") {
      if (!v.empty() && v != "checkout" && v != "commit") {
        return InvalidArgument("source \"" + ident + "\": invalid git.mtime \"" + v +
                               "\" (want checkout or commit)");
      }
      id.mtime = v;
    } else if (k == "git.fetchbycommit") {
      id.fetch_by_commit = v == "true";
    } else if (k == "git.bundle" || k == "git.checkoutbundle" || k.rfind("git.sig.", 0) == 0) {
      return Unimplemented("source \"" + ident + "\": " + k + " is not supported by kiln yet");
    } else if (k == "git.authtokensecret") {
      id.auth_token_secret = v;
    } else if (k == "git.authheadersecret") {
      id.auth_header_secret = v;
    }
    // git.knownsshhosts and git.mountsshsock: what an ssh remote needs; not passed on yet.
  }
  if (id.ref.rfind('-', 0) == 0) {
    return InvalidArgument("source \"" + ident + "\": invalid git ref \"" + id.ref + "\"");
  }
  if (!id.checksum.empty() && !std::all_of(id.checksum.begin(), id.checksum.end(),
                                           [](unsigned char c) { return std::isxdigit(c) != 0; })) {
    return InvalidArgument("source \"" + ident + "\": invalid checksum " + id.checksum +
                           " for Git URL, expected hex commit hash");
  }
  if (id.fetch_by_commit && !IsCommitSha(id.checksum)) {
    return InvalidArgument("source \"" + ident +
                           "\": git.fetchbycommit needs a full commit in git.checksum");
  }
  return id;
}

std::vector<GitAuthSecret> GitAuthSecrets(const GitIdentifier& id) {
  auto u = ParseGitUrl(id.remote);
  if (!u.ok() || (u->scheme != "http" && u->scheme != "https")) return {};
  std::vector<GitAuthSecret> out;
  if (!id.auth_header_secret.empty()) out.push_back({id.auth_header_secret + "." + u->host, false});
  if (!id.auth_token_secret.empty()) out.push_back({id.auth_token_secret + "." + u->host, true});
  if (!id.auth_header_secret.empty()) out.push_back({id.auth_header_secret, false});
  if (!id.auth_token_secret.empty()) out.push_back({id.auth_token_secret, true});
  return out;
}

std::string GitCacheKey(const GitIdentifier& id, const std::string& sha, const std::string& ref) {
  std::string key = sha;
  if (id.keep_git_dir) {
    key += ".git";
    if (!ref.empty()) key += "#" + ref;
  }
  if (!id.subdir.empty()) key += ":" + id.subdir;
  if (id.skip_submodules) key += "(skip-submodules)";
  if (!id.mtime.empty() && id.mtime != "checkout") key += "(mtime=" + id.mtime + ")";
  return key;
}

}  // namespace kiln::source
