#include "cache/cache_mounts.h"

#include <chrono>

namespace kiln::cache {

CacheMount::~CacheMount() { owner_->Release(this); }

CacheMounts::~CacheMounts() = default;

Result<std::optional<PersistentRef>> CacheMounts::TakeFree(const std::string& key) {
  KILN_ASSIGN_OR_RETURN(auto ids, mgr_->ListPersistent(key));
  for (const auto& id : ids) {
    KILN_ASSIGN_OR_RETURN(auto ref, mgr_->TryOpenPersistent(id));
    if (ref) return ref;
  }
  return std::optional<PersistentRef>();
}

Result<std::unique_ptr<CacheMount>> CacheMounts::Acquire(const Context& ctx, const std::string& id,
                                                         Sharing sharing, const ImmutableRef* base) {
  if (id.empty()) return InvalidArgument("cache mount without an id");
  std::string key = "cache-dir:" + id;
  if (base && base->valid()) key += ":" + base->id();
  const std::string desc = "cached mount " + id;
  Hook("acquire");
  std::unique_lock<std::mutex> l(mu_);
  Hook("acquire-locked");
  if (sharing == Sharing::kShared) {
    auto it = shared_.find(key);
    if (it == shared_.end()) {
      Shared s;
      KILN_ASSIGN_OR_RETURN(auto free, TakeFree(key));
      if (free) {
        s.ref = std::move(*free);
      } else {
        KILN_ASSIGN_OR_RETURN(s.ref, mgr_->NewPersistent(ctx, base, key, desc));
      }
      KILN_ASSIGN_OR_RETURN(s.mnt, s.ref.Mount());
      it = shared_.emplace(key, std::move(s)).first;
    }
    it->second.users++;
    Hook("acquired-shared");
    return std::unique_ptr<CacheMount>(
        new CacheMount(this, key, it->second.ref.id(), it->second.mnt->path(), sharing));
  }
  // Private and locked users take a free directory; private makes a new one when none is free,
  // locked only when none exists, and otherwise waits for one to be released.
  for (;;) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    KILN_ASSIGN_OR_RETURN(auto free, TakeFree(key));
    PersistentRef ref;
    if (free) {
      ref = std::move(*free);
    } else {
      bool create = sharing == Sharing::kPrivate;
      if (!create) {
        KILN_ASSIGN_OR_RETURN(auto ids, mgr_->ListPersistent(key));
        create = ids.empty();
      }
      if (!create) {
        // Woken by a release or a cancel (which may run right here, so it must not take mu_;
        // a wake-up it misses is caught by the timed wait).
        auto wake = ctx.OnCancel([this](const Status&) { cv_.notify_all(); });
        Hook("wait");
        cv_.wait_for(l, std::chrono::milliseconds(200));
        continue;
      }
      KILN_ASSIGN_OR_RETURN(ref, mgr_->NewPersistent(ctx, base, key, desc));
    }
    KILN_ASSIGN_OR_RETURN(auto mnt, ref.Mount());
    std::unique_ptr<CacheMount> m(new CacheMount(this, key, ref.id(), mnt->path(), sharing));
    m->ref_ = std::move(ref);
    m->mnt_ = std::move(mnt);
    Hook("acquired-exclusive");
    return m;
  }
}

void CacheMounts::Release(CacheMount* m) {
  Hook("release");
  std::lock_guard<std::mutex> l(mu_);
  Hook("release-locked");
  if (m->sharing_ == Sharing::kShared) {
    auto it = shared_.find(m->key_);
    if (it != shared_.end() && --it->second.users == 0) shared_.erase(it);
  } else {
    m->mnt_.reset();
    m->ref_ = PersistentRef();
  }
  cv_.notify_all();
}

}  // namespace kiln::cache
