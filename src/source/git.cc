#include "source/git.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "source/git_cli.h"
#include "util/base64.h"
#include "util/digest.h"
#include "util/fs_copy.h"
#include "util/log.h"

namespace kiln::source {

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The remote without a password, for messages and the kept .git's origin.
std::string Redacted(const std::string& remote) {
  size_t scheme = remote.find("://");
  size_t at = remote.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return remote;
  size_t colon = remote.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return remote;
  return remote.substr(0, colon) + ":xxxxx" + remote.substr(at);
}

// Every component of `subdir` under `root` is a real directory (no symlink leads out).
Status CheckDirsOnly(const std::string& root, const std::string& subdir) {
  std::string p = root;
  size_t start = 0;
  while (start < subdir.size()) {
    size_t slash = subdir.find('/', start);
    std::string part = subdir.substr(start, slash == std::string::npos ? slash : slash - start);
    p += "/" + part;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) {
      return NotFound("subdir \"" + subdir + "\" is not in the repository");
    }
    if (!S_ISDIR(st.st_mode))
      return InvalidArgument("subdir \"" + subdir + "\" is not a directory");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

// Moves the contents of `from` into `to` (both on one filesystem) and removes `from`'s tree.
Status MoveContents(const std::string& from, const std::string& to) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(from, ec)) {
    std::string dst = to + "/" + e.path().filename().string();
    if (rename(e.path().c_str(), dst.c_str()) != 0) return ErrnoStatus(errno, "move " + dst);
  }
  if (ec) return ErrnoStatus(ec.value(), "list " + from);
  return Status::Ok();
}

// git.mtime=commit: every entry gets the commit's time instead of the checkout's.
Status SetTimes(const std::string& dir, int64_t t) {
  struct timespec ts[2] = {{static_cast<time_t>(t), 0}, {static_cast<time_t>(t), 0}};
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (utimensat(AT_FDCWD, it->path().c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, "set the time of " + it->path().string());
    }
  }
  if (ec) return ErrnoStatus(ec.value(), "walk " + dir);
  if (utimensat(AT_FDCWD, dir.c_str(), ts, 0) != 0) return ErrnoStatus(errno, "set time " + dir);
  return Status::Ok();
}

// BuildKit's tokenScope: a token for one github.com repository serves them all.
std::string TokenScope(const std::string& remote) {
  for (const char* p : {"https://github.com/", "https://www.github.com/"}) {
    if (StartsWith(remote, p)) return p;
  }
  return remote;
}

// The remote's Authorization header as git config in the environment (GIT_CONFIG_*, so the
// secret is not on git's command line); empty without a secret. Secrets that cannot be read
// are skipped, as BuildKit does; values never reach a message or the log.
Result<std::vector<std::string>> AuthEnv(const Context& ctx, const GitIdentifier& id,
                                         const SecretFn& secrets) {
  if (!secrets) return std::vector<std::string>{};
  for (const auto& s : GitAuthSecrets(id)) {
    auto v = secrets(s.id);
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (!v.ok()) continue;
    std::string value = s.token ? "basic " + Base64Encode("x-access-token:" + *v) : *v;
    if (value.find_first_of("\r\n") != std::string::npos) {
      return InvalidArgument("git auth secret " + s.id + " holds a line break");
    }
    return std::vector<std::string>{
        "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http." + TokenScope(id.remote) + ".extraheader",
        "GIT_CONFIG_VALUE_0=Authorization: " + value};
  }
  return std::vector<std::string>{};
}

}  // namespace

Result<GitResolved> GitSource::Resolve(const Context& ctx, const GitIdentifier& id,
                                       const SecretFn& secrets) {
  GitRun run;
  run.timeout = opts_.command_timeout;
  auto fail = [&](const Status& s) { return s.Annotate("resolve " + Redacted(id.remote)); };
  GitResolved r;
  if (IsCommitSha(id.ref)) {
    if (!id.checksum.empty() && !StartsWith(id.ref, id.checksum)) {
      return InvalidArgument(
          fmt::format("expected checksum to match {}, got {}", id.checksum, id.ref));
    }
    r.ref = r.sha = r.commit = id.ref;
    r.key = GitCacheKey(id, r.sha, r.ref);
    return r;
  }
  if (id.fetch_by_commit) {
    // The checksum is trusted as the commit: no ls-remote; a short ref names a branch.
    r.ref = id.ref.empty()                ? id.checksum
            : StartsWith(id.ref, "refs/") ? id.ref
                                          : "refs/heads/" + id.ref;
    r.sha = r.commit = id.checksum;
    r.key = GitCacheKey(id, r.sha, r.ref);
    return r;
  }
  KILN_ASSIGN_OR_RETURN(run.env, AuthEnv(ctx, id, secrets));
  std::string ref = id.ref;
  if (ref.empty()) {
    auto head = RunGit(ctx, run, {"ls-remote", "--symref", "--", id.remote, "HEAD"});
    if (!head.ok()) return fail(head.status());
    // "ref: refs/heads/main\tHEAD"
    size_t p = head->find("ref: ");
    size_t tab = p == std::string::npos ? p : head->find('\t', p);
    if (tab == std::string::npos) {
      return fail(NotFound("could not find the default branch of the repository"));
    }
    ref = head->substr(p + 5, tab - p - 5);
  }
  auto out = RunGit(ctx, run, {"ls-remote", "--", id.remote, ref, ref + "^{}"});
  if (!out.ok()) return fail(out.status());
  auto strip = [](std::string_view s, std::string_view prefix) {
    return StartsWith(s, prefix) ? std::string(s.substr(prefix.size())) : std::string(s);
  };
  const std::string partial = "refs/" + strip(ref, "refs/");
  const std::string head_ref = "refs/heads/" + strip(ref, "refs/heads/");
  const std::string tag_ref = "refs/tags/" + strip(ref, "refs/tags/");
  const std::string peeled_ref = tag_ref + "^{}";
  std::string sha, head_sha, tag_sha, peeled_sha, used;
  size_t start = 0;
  while (start < out->size()) {
    size_t nl = out->find('\n', start);
    std::string line = out->substr(start, nl == std::string::npos ? nl : nl - start);
    start = nl == std::string::npos ? out->size() : nl + 1;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string lsha = line.substr(0, tab), lref = line.substr(tab + 1);
    if (lref == head_ref) head_sha = lsha;
    if (lref == tag_ref) tag_sha = lsha;
    if (lref == peeled_ref) peeled_sha = lsha;
    if (lref == partial) {
      sha = lsha;
      used = lref;
    }
  }
  // Like git checkout, a branch wins over a tag of the same name.
  if (sha.empty() && !head_sha.empty()) {
    sha = head_sha;
    used = head_ref;
  }
  if (!sha.empty()) peeled_sha.clear();
  if (sha.empty() && !tag_sha.empty()) {
    sha = tag_sha;
    used = tag_ref;
  }
  if (sha.empty()) {
    return fail(NotFound("the repository has no ref \"" + ref + "\""));
  }
  if (!IsCommitSha(sha)) return fail(Unavailable("invalid commit sha \"" + sha + "\""));
  if (!id.checksum.empty() && !StartsWith(sha, id.checksum) &&
      (peeled_sha.empty() || !StartsWith(peeled_sha, id.checksum))) {
    return InvalidArgument(fmt::format("expected checksum to match {}, got {}{}", id.checksum, sha,
                                       peeled_sha.empty() ? "" : " or " + peeled_sha));
  }
  r.ref = used;
  r.sha = sha;
  r.commit = peeled_sha.empty() ? sha : peeled_sha;
  // Without a .git kept, an annotated tag checks out like the commit it points to.
  r.key = GitCacheKey(id, id.keep_git_dir ? r.sha : r.commit, r.ref);
  return r;
}

Result<GitSource::Repo> GitSource::OpenRepo(const Context& ctx, const GitIdentifier& id) {
  // Found by a hash of the remote: a password in the URL stays out of the metadata.
  std::string key = "git-remote::" + Digest::FromBytes(id.remote).str();
  Repo repo;
  KILN_ASSIGN_OR_RETURN(auto ids, cache_->ListPersistent(key));
  for (const auto& rid : ids) {
    KILN_ASSIGN_OR_RETURN(auto open, cache_->TryOpenPersistent(rid));
    if (open) {
      repo.ref = std::move(*open);
      break;
    }
  }
  if (!repo.ref.valid()) {
    KILN_ASSIGN_OR_RETURN(
        repo.ref, cache_->NewPersistent(ctx, nullptr, key,
                                        "shared git repo for " + Redacted(id.remote), "regular"));
  }
  KILN_ASSIGN_OR_RETURN(repo.mount, repo.ref.Mount());
  repo.dir = repo.mount->path();
  struct stat st;
  if (stat((repo.dir + "/HEAD").c_str(), &st) != 0) {
    GitRun run;
    run.timeout = opts_.command_timeout;
    KILN_RETURN_IF_ERROR(RunGit(ctx, run, {"init", "--bare", "--quiet", repo.dir}).status());
  }
  GitRun run;
  run.timeout = opts_.command_timeout;
  run.git_dir = repo.dir;
  KILN_RETURN_IF_ERROR(RunGit(ctx, run, {"config", "remote.origin.url", id.remote}).status());
  return repo;
}

Status GitSource::Fetch(const Context& ctx, const std::string& repo, const GitIdentifier& id,
                        const GitResolved& r, const std::vector<std::string>& auth_env) {
  GitRun run;
  run.timeout = opts_.command_timeout;
  run.git_dir = repo;
  run.env = auth_env;
  auto have = [&](const std::string& obj) {
    return RunGit(ctx, run, {"cat-file", "-e", obj}).ok();
  };
  // A named ref is kept pointing at what it resolved to (a kept .git fetches it by name).
  auto point_ref = [&]() {
    if (IsCommitSha(r.ref)) return Status::Ok();
    return RunGit(ctx, run, {"update-ref", r.ref, r.sha}).status();
  };
  if (have(r.sha)) return point_ref();  // an earlier fetch brought it
  unlink((repo + "/shallow.lock").c_str());
  std::vector<std::string> args = {"fetch", "--depth=1", "--no-tags", "--force", "origin"};
  bool by_commit = id.fetch_by_commit || IsCommitSha(r.ref);
  args.push_back(by_commit ? r.sha : r.ref + ":" + r.ref);
  Status fetched = RunGit(ctx, run, args).status();
  if (!fetched.ok()) return fetched.Annotate("fetch " + Redacted(id.remote));
  if (have(r.sha)) return point_ref();
  // The ref moved since it was resolved: ask for the resolved commit itself.
  Status again = RunGit(ctx, run, {"fetch", "--depth=1", "origin", r.sha}).status();
  if (!again.ok() || !have(r.sha)) {
    return Unavailable(
        fmt::format("fetch {}: {} no longer points to {} and that commit cannot "
                    "be fetched",
                    Redacted(id.remote), r.ref, r.sha));
  }
  return point_ref();
}

Status GitSource::CheckoutInto(const Context& ctx, const std::string& repo, const std::string& dir,
                               const GitIdentifier& id, const GitResolved& r) {
  GitRun run;
  run.timeout = opts_.command_timeout;
  if (id.keep_git_dir && id.subdir.empty()) {
    // A repository of its own, cloned over file:// (no hardlinks into the shared one).
    GitRun bare = run;
    bare.git_dir = repo;
    std::string pullref = r.ref + ":" + r.ref;
    if (IsCommitSha(r.ref)) {
      pullref = "refs/kiln/" + r.sha;
      KILN_RETURN_IF_ERROR(RunGit(ctx, bare, {"update-ref", pullref, r.sha}).status());
    }
    run.work_tree = dir;
    run.git_dir = dir + "/.git";
    KILN_RETURN_IF_ERROR(
        RunGit(ctx, run, {"-c", "init.defaultBranch=master", "init", "--quiet"}).status());
    KILN_RETURN_IF_ERROR(RunGit(ctx, run, {"remote", "add", "origin", "file://" + repo}).status());
    KILN_RETURN_IF_ERROR(
        RunGit(ctx, run, {"fetch", "-u", "--depth=1", "--quiet", "--", "origin", pullref})
            .status());
    KILN_RETURN_IF_ERROR(RunGit(ctx, run, {"checkout", "--quiet", "FETCH_HEAD"}).status());
    KILN_RETURN_IF_ERROR(
        RunGit(ctx, run, {"remote", "set-url", "origin", Redacted(id.remote)}).status());
    KILN_RETURN_IF_ERROR(RunGit(ctx, run, {"reflog", "expire", "--all", "--expire=now"}).status());
    unlink((dir + "/.git/FETCH_HEAD").c_str());
  } else {
    std::string cd = dir;
    if (!id.subdir.empty()) cd = dir + "/.kiln-checkout";
    std::error_code ec;
    std::filesystem::create_directories(cd, ec);
    if (ec) return ErrnoStatus(ec.value(), "create " + cd);
    run.work_tree = cd;
    run.git_dir = repo;
    // The shared repository's own index is left alone: each checkout has a private one.
    std::string index = repo + "/kiln-index-" + std::to_string(getpid());
    run.env = {"GIT_INDEX_FILE=" + index};
    Status s = RunGit(ctx, run, {"checkout", "--no-overlay", r.commit, "--", "."}).status();
    struct stat st;
    if (s.ok() && !id.skip_submodules && lstat((cd + "/.gitmodules").c_str(), &st) == 0) {
      s = RunGit(ctx, run, {"submodule", "update", "--init", "--recursive", "--depth=1"}).status();
      if (!s.ok()) s = s.Annotate("update submodules");
    }
    unlink(index.c_str());
    KILN_RETURN_IF_ERROR(s);
    if (!id.subdir.empty()) {
      KILN_RETURN_IF_ERROR(CheckDirsOnly(cd, id.subdir));
      KILN_RETURN_IF_ERROR(MoveContents(cd + "/" + id.subdir, dir));
      KILN_RETURN_IF_ERROR(RemoveAll(cd));
    }
  }
  if (id.mtime == "commit") {
    GitRun bare;
    bare.git_dir = repo;
    bare.timeout = opts_.command_timeout;
    KILN_ASSIGN_OR_RETURN(std::string t,
                          RunGit(ctx, bare, {"log", "-1", "--format=%ct", r.commit}));
    KILN_RETURN_IF_ERROR(SetTimes(dir, std::strtoll(t.c_str(), nullptr, 10)));
  }
  return Status::Ok();
}

Result<cache::ImmutableRef> GitSource::Checkout(const Context& ctx, const GitIdentifier& id,
                                                const GitResolved& r,
                                                solver::VertexProgress* progress,
                                                const SecretFn& secrets) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> auth_env, AuthEnv(ctx, id, secrets));
  std::string status_id = "fetching " + Redacted(id.remote) + " " + r.ref;
  if (progress) progress->Status(status_id, 0, 0, false);
  KILN_ASSIGN_OR_RETURN(auto guard, remotes_.Lock(ctx, id.remote));
  KILN_ASSIGN_OR_RETURN(Repo repo, OpenRepo(ctx, id));
  KILN_RETURN_IF_ERROR(Fetch(ctx, repo.dir, id, r, auth_env));
  if (progress) progress->Status(status_id, 0, 0, true);
  KILN_ASSIGN_OR_RETURN(
      cache::MutableRef mut,
      cache_->New(ctx, nullptr, "git snapshot for " + Redacted(id.remote) + "#" + r.ref));
  mut.SetRecordType("source.git.checkout");
  {
    KILN_ASSIGN_OR_RETURN(auto mount, mut.Mount());
    Status s = CheckoutInto(ctx, repo.dir, mount->path(), id, r);
    if (!s.ok()) return s.Annotate("check out " + r.commit + " of " + Redacted(id.remote));
  }
  KILN_ASSIGN_OR_RETURN(cache::ImmutableRef ref, mut.Commit());
  log::Info("checked out {} ({}) of {} as ref {}", r.ref, r.commit, Redacted(id.remote), ref.id());
  return ref;
}

}  // namespace kiln::source
