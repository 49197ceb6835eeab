#pragma once
// The git:// source (BuildKit's source/git), over Debian's git binary. The cache key is the
// commit the ref resolves to on the remote (`git ls-remote`; a full commit id needs no
// request). A miss fetches that ref shallowly into a bare repository kept per remote as a
// persistent cache ref (as BuildKit's "shared git repo", pruned like other refs; one fetch per
// remote at a time) and checks the commit out into a new ref:
// the whole tree, a subdir's contents, or, with git.keepgitdir, a work tree with its own .git.
// Thread-safe.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cache/manager.h"
#include "solver/progress.h"
#include "source/git_identifier.h"
#include "source/secret_fn.h"
#include "util/keyed_mutex.h"

namespace kiln::source {

struct GitSourceOptions {
  // Longest a single git command (ls-remote, fetch, checkout) may take.
  std::chrono::milliseconds command_timeout{std::chrono::minutes(10)};
};

struct GitResolved {
  std::string ref;     // the full ref that matched ("refs/heads/main"), or the commit asked for
  std::string sha;     // what it points to (a tag object for an annotated tag)
  std::string commit;  // the commit to check out
  std::string key;     // the cache key part (GitCacheKey)
};

class GitSource {
 public:
  explicit GitSource(cache::Manager* cache, GitSourceOptions opts = {})
      : cache_(cache), opts_(opts) {}

  // Resolves the identifier's ref on the remote; an unknown ref or a commit that does not
  // match git.checksum is an error naming the remote. `secrets` (may be null) gives an https
  // remote's Authorization (GitAuthSecrets).
  Result<GitResolved> Resolve(const Context& ctx, const GitIdentifier& id,
                              const SecretFn& secrets = nullptr);

  // Fetches the resolved commit (unless the remote's repository has it) and checks it out.
  Result<cache::ImmutableRef> Checkout(const Context& ctx, const GitIdentifier& id,
                                       const GitResolved& r, solver::VertexProgress* progress,
                                       const SecretFn& secrets = nullptr);

 private:
  // A remote's shared bare repository, mounted while this is held.
  struct Repo {
    cache::PersistentRef ref;
    std::unique_ptr<snapshot::Mount> mount;
    std::string dir;
  };
  Result<Repo> OpenRepo(const Context& ctx, const GitIdentifier& id);
  Status Fetch(const Context& ctx, const std::string& repo, const GitIdentifier& id,
               const GitResolved& r, const std::vector<std::string>& auth_env);
  Status CheckoutInto(const Context& ctx, const std::string& repo, const std::string& dir,
                      const GitIdentifier& id, const GitResolved& r);

  cache::Manager* cache_;
  GitSourceOptions opts_;
  KeyedMutex remotes_;  // one fetch or checkout per remote repository at a time
};

}  // namespace kiln::source
