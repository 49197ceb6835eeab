#pragma once
// The identifier of a git:// source (BuildKit's source/git identifier): "git://<host>/<path>
// [#ref[:subdir]]" with the remote to fetch from in git.fullurl, and the attrs that shape the
// checkout (git.keepgitdir, git.checksum, git.skipsubmodules, git.mtime, ...). Pure functions,
// thread-safe.

#include <string>
#include <vector>

#include "pb/ops.pb.h"
#include "util/status.h"

namespace kiln::source {

struct GitIdentifier {
  std::string remote;    // what git fetches from ("https://host/repo.git", "git@host:repo")
  std::string ref;       // branch, tag, full ref or commit; "" for the remote's HEAD
  std::string checksum;  // git.checksum: a commit (prefix) the ref must resolve to
  std::string subdir;    // relative, cleaned; "" for the whole tree
  bool keep_git_dir = false;
  bool skip_submodules = false;
  std::string mtime;  // "checkout" (files get the checkout time) or "commit"
  bool fetch_by_commit = false;
  // git.authtokensecret / git.authheadersecret: client secrets for https remotes
  // (llb.Git sets GIT_AUTH_TOKEN and GIT_AUTH_HEADER by default).
  std::string auth_token_secret;
  std::string auth_header_secret;
};

// Parses a git:// SourceOp; bad input is an InvalidArgument naming the source. Attrs kiln does
// not implement (bundles, signature checks) are Unimplemented; ssh options are accepted and
// unused.
Result<GitIdentifier> ParseGit(const pb::SourceOp& op);

// The secrets that may hold an http(s) remote's Authorization, in the order BuildKit asks for
// them: <header secret>.<host>, <token secret>.<host>, <header secret>, <token secret>. Tokens
// are sent as "basic base64(x-access-token:<token>)". None for other transports.
struct GitAuthSecret {
  std::string id;
  bool token = false;
};
std::vector<GitAuthSecret> GitAuthSecrets(const GitIdentifier& id);

// A full commit id (40 or 64 lowercase hex digits).
bool IsCommitSha(std::string_view s);

// The source's cache key part for a resolved commit (BuildKit's shaToCacheKey): the commit and
// what else makes the checkout differ.
std::string GitCacheKey(const GitIdentifier& id, const std::string& sha, const std::string& ref);

}  // namespace kiln::source
