#pragma once
// Cache mounts (RUN --mount=type=cache): writable directories kept across builds, found by id
// (and the base they start from), shared between concurrent builds as the mount's sharing mode
// says (BuildKit's solver/llbsolver/mounts):
//   shared  - concurrent users mount the same directory;
//   private - a user gets a directory no one else is using, made new when all are busy;
//   locked  - a user waits until a directory of the id is free (made new only when none exists).
// Lock discipline (docs/dev/locking.md): CacheMounts::mu_ is taken before the Manager's locks,
// never after; nothing waits for another user while holding it except through its condition
// variable. Thread-safe.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cache/manager.h"
#include "util/context.h"

namespace kiln::cache {

enum class Sharing { kShared, kPrivate, kLocked };

class CacheMounts;

// One user's hold on a cache mount directory; released on destruction.
class CacheMount {
 public:
  ~CacheMount();
  CacheMount(const CacheMount&) = delete;
  CacheMount& operator=(const CacheMount&) = delete;
  const std::string& path() const { return path_; }
  const std::string& ref_id() const { return ref_id_; }

 private:
  friend class CacheMounts;
  CacheMount(CacheMounts* owner, std::string key, std::string ref_id, std::string path, Sharing s)
      : owner_(owner), key_(std::move(key)), ref_id_(std::move(ref_id)), path_(std::move(path)), sharing_(s) {}
  CacheMounts* owner_;
  std::string key_;
  std::string ref_id_;
  std::string path_;
  Sharing sharing_;
  // For private and locked users: the directory's handle and mount, theirs alone.
  PersistentRef ref_;
  std::unique_ptr<snapshot::Mount> mnt_;
};

class CacheMounts {
 public:
  // `hook` (tests only) is called at named points of acquire and release, some with mu_ held, to
  // widen race windows.
  explicit CacheMounts(Manager* mgr, std::function<void(const char*)> hook = {})
      : mgr_(mgr), hook_(std::move(hook)) {}
  // Outstanding CacheMounts must be released before this is destroyed.
  ~CacheMounts();

  // A directory for cache mount `id`, starting from `base`'s tree when given (a different base
  // is a different cache). Waits (cancellably) only in locked mode.
  Result<std::unique_ptr<CacheMount>> Acquire(const Context& ctx, const std::string& id, Sharing sharing,
                                              const ImmutableRef* base);

 private:
  friend class CacheMount;
  struct Shared {
    PersistentRef ref;
    std::unique_ptr<snapshot::Mount> mnt;
    int users = 0;
  };
  void Release(CacheMount* m);
  // An existing free directory of `key` (opened), or nullopt. mu_ held.
  Result<std::optional<PersistentRef>> TakeFree(const std::string& key);
  void Hook(const char* point) {
    if (hook_) hook_(point);
  }

  Manager* mgr_;
  std::function<void(const char*)> hook_;
  std::mutex mu_;
  std::condition_variable cv_;              // a directory was released
  std::map<std::string, Shared> shared_;    // by key; guarded by mu_
};

}  // namespace kiln::cache
