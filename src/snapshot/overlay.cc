#include "snapshot/overlay.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "snapshot/overlay_meta.h"
#include "snapshot/overlay_mount.h"
#include "util/fs_copy.h"
#include "util/log.h"

namespace kiln::snapshot {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Bytes of the blocks below dir, each inode counted once (hard links inside one upper share).
Result<int64_t> DiskUsage(const std::string& dir) {
  int64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second) {
      continue;
    }
    total += static_cast<int64_t>(st.st_blocks) * 512;
  }
  if (ec) return Internal("usage of " + dir + ": " + ec.message());
  return total;
}

class OverlaySnapshotter : public Snapshotter {
 public:
  OverlaySnapshotter(std::string root, std::string options)
      : snapshots_(root + "/snapshots"), mounts_(root + "/mounts"), options_(std::move(options)) {}

  Status Init();

  std::string name() const override { return "overlayfs"; }

  Status Prepare(const Context& ctx, const std::string& key, const std::string& parent) override {
    KILN_RETURN_IF_ERROR(CheckOverlayKey(key));
    if (!parent.empty()) KILN_RETURN_IF_ERROR(CheckOverlayKey(parent));
    std::lock_guard<std::mutex> l(mu_);
    if (snaps_.count(key)) return AlreadyExists("snapshot " + key + " already exists");
    if (!parent.empty()) {
      auto it = snaps_.find(parent);
      if (it == snaps_.end()) return NotFound("parent snapshot " + parent + " does not exist");
      if (!it->second.committed) {
        return FailedPrecondition("parent snapshot " + parent + " is not committed");
      }
      if (ChainLocked(parent).size() >= kMaxOverlayLowers) {
        return ResourceExhausted("snapshot " + parent + " already has " +
                                 std::to_string(kMaxOverlayLowers) + " layers");
      }
    }
    OverlayRecord rec{next_id_++, key, parent, false};
    std::string tmp = snapshots_ + "/.tmp-" + std::to_string(rec.id);
    std::string dir = Dir(rec.id);
    Status s = Status::Ok();
    if (mkdir(tmp.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + tmp);
    if (mkdir((tmp + "/fs").c_str(), 0755) != 0) s = ErrnoStatus(errno, "mkdir " + tmp + "/fs");
    if (s.ok() && mkdir((tmp + "/work").c_str(), 0700) != 0) {
      s = ErrnoStatus(errno, "mkdir " + tmp + "/work");
    }
    if (s.ok()) s = SaveRecord(tmp, rec);
    if (s.ok() && rename(tmp.c_str(), dir.c_str()) != 0) s = ErrnoStatus(errno, "rename " + tmp);
    if (!s.ok()) {
      RemoveAll(tmp).IgnoreError();
      return s.Annotate("prepare snapshot " + key);
    }
    snaps_[key] = rec;
    return Status::Ok();
  }

  Status Commit(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = snaps_.find(key);
    if (it == snaps_.end()) return NotFound("snapshot " + key + " does not exist");
    if (it->second.committed) return Status::Ok();
    OverlayRecord rec = it->second;
    rec.committed = true;
    KILN_RETURN_IF_ERROR(SaveRecord(Dir(rec.id), rec).Annotate("commit snapshot " + key));
    it->second = rec;
    return Status::Ok();
  }

  Result<std::unique_ptr<Mount>> MountSnapshot(const std::string& key, bool readonly) override {
    std::vector<int64_t> chain;  // the snapshot, then its parents
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = snaps_.find(key);
      if (it == snaps_.end()) return NotFound("snapshot " + key + " does not exist");
      if (!readonly && it->second.committed) {
        return FailedPrecondition("snapshot " + key +
                                  " is committed and cannot be mounted writable");
      }
      chain = ChainLocked(key);
    }
    if (!readonly && chain.size() == 1) {
      return std::unique_ptr<Mount>(new MountHandle(Dir(chain[0]) + "/fs", false));
    }
    KILN_ASSIGN_OR_RETURN(std::string target, MakeMountPoint(mounts_));
    Status s;
    if (readonly && chain.size() == 1) {
      s = BindReadonly(Dir(chain[0]) + "/fs", target);
    } else {
      OverlaySpec spec;
      spec.base_dir = snapshots_;
      spec.options = options_;
      for (size_t i = readonly ? 0 : 1; i < chain.size(); i++) {
        spec.lowers.push_back(std::to_string(chain[i]) + "/fs");
      }
      if (!readonly) {
        spec.upper = std::to_string(chain[0]) + "/fs";
        spec.work = std::to_string(chain[0]) + "/work";
      }
      s = MountOverlay(spec, target);
    }
    if (!s.ok()) {
      rmdir(target.c_str());
      return s.Annotate("mount snapshot " + key);
    }
    return std::unique_ptr<Mount>(new MountHandle(target, true));
  }

  Status Remove(const std::string& key) override {
    std::string tmp;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = snaps_.find(key);
      if (it == snaps_.end()) return Status::Ok();
      size_t children = std::count_if(snaps_.begin(), snaps_.end(),
                                      [&](const auto& kv) { return kv.second.parent == key; });
      if (children > 0) {
        return FailedPrecondition("snapshot " + key + " has " + std::to_string(children) +
                                  " child snapshot(s) and cannot be removed");
      }
      // Renamed first so that a crash mid-removal leaves a ".tmp-" dir that Init deletes.
      tmp = snapshots_ + "/.tmp-rm-" + std::to_string(it->second.id);
      if (rename(Dir(it->second.id).c_str(), tmp.c_str()) != 0) {
        return ErrnoStatus(errno, "remove snapshot " + key);
      }
      snaps_.erase(it);
    }
    return RemoveAll(tmp);
  }

  Result<int64_t> Usage(const std::string& key) override {
    int64_t id;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = snaps_.find(key);
      if (it == snaps_.end()) return NotFound("snapshot " + key + " does not exist");
      id = it->second.id;
    }
    return DiskUsage(Dir(id) + "/fs");
  }

  // Newest first: a child always comes before its parent, so removing in this order (as the
  // cache manager's repair does) never meets a parent that still has children.
  Result<std::vector<SnapshotInfo>> List() override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<const OverlayRecord*> recs;
    for (const auto& [k, r] : snaps_) recs.push_back(&r);
    std::sort(recs.begin(), recs.end(), [](auto* a, auto* b) { return a->id > b->id; });
    std::vector<SnapshotInfo> out;
    for (const auto* r : recs) out.push_back(SnapshotInfo{r->key, r->parent, r->committed});
    return out;
  }

  Result<UpperDirInfo> UpperDir(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = snaps_.find(key);
    if (it == snaps_.end()) return NotFound("snapshot " + key + " does not exist");
    if (it->second.committed) return FailedPrecondition("snapshot " + key + " is committed");
    return DirsLocked(key);
  }

  Result<UpperDirInfo> DiffDirs(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!snaps_.count(key)) return NotFound("snapshot " + key + " does not exist");
    return DirsLocked(key);
  }

 private:
  std::string Dir(int64_t id) const { return snapshots_ + "/" + std::to_string(id); }

  UpperDirInfo DirsLocked(const std::string& key) const {
    UpperDirInfo info;
    auto chain = ChainLocked(key);
    info.upper = Dir(chain[0]) + "/fs";
    for (size_t i = 1; i < chain.size(); i++) info.lowers.push_back(Dir(chain[i]) + "/fs");
    return info;
  }

  // Ids of key and its ancestors, key first. Init guarantees every parent exists.
  std::vector<int64_t> ChainLocked(const std::string& key) const {
    std::vector<int64_t> out;
    for (auto it = snaps_.find(key); it != snaps_.end(); it = snaps_.find(it->second.parent)) {
      out.push_back(it->second.id);
      if (it->second.parent.empty()) break;
    }
    return out;
  }

  const std::string snapshots_;
  const std::string mounts_;
  const std::string options_;
  std::mutex mu_;
  std::map<std::string, OverlayRecord> snaps_;  // by key; guarded by mu_
  int64_t next_id_ = 1;                         // guarded by mu_
};

Status OverlaySnapshotter::Init() {
  for (const std::string& d : {snapshots_, mounts_}) {
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) return Internal("create " + d + ": " + ec.message());
  }
  // A crashed daemon's mounts: detach them; remove the mount point only once nothing shows
  // through it.
  KILN_ASSIGN_OR_RETURN(auto mounts, ReadDirNames(mounts_));
  for (const auto& m : mounts) {
    std::string p = mounts_ + "/" + m;
    Status s = Unmount(p);
    if (s.ok() && rmdir(p.c_str()) == 0) continue;
    log::Warn("snapshot: cannot clean up stale mount point {}: {}", p,
              s.ok() ? std::string(strerror(errno)) : s.message());
  }
  KILN_ASSIGN_OR_RETURN(auto names, ReadDirNames(snapshots_));
  std::map<std::string, OverlayRecord> loaded;
  for (const auto& n : names) {
    std::string p = snapshots_ + "/" + n;
    if (StartsWith(n, ".tmp-")) {
      KILN_RETURN_IF_ERROR(RemoveAll(p));
      continue;
    }
    auto rec = LoadRecord(p);
    if (!rec.ok() || std::to_string(rec->id) != n || loaded.count(rec->key)) {
      log::Warn("snapshot: removing broken snapshot dir {}: {}", p,
                rec.ok() ? "id or key mismatch" : rec.status().message());
      KILN_RETURN_IF_ERROR(RemoveAll(p));
      continue;
    }
    next_id_ = std::max(next_id_, rec->id + 1);
    loaded[rec->key] = *rec;
  }
  // Children of missing or uncommitted parents cannot be mounted: drop them, repeatedly, since
  // that can orphan their own children.
  for (bool changed = true; changed;) {
    changed = false;
    for (auto it = loaded.begin(); it != loaded.end();) {
      const std::string& parent = it->second.parent;
      auto p = parent.empty() ? loaded.end() : loaded.find(parent);
      if (parent.empty() || (p != loaded.end() && p->second.committed)) {
        ++it;
        continue;
      }
      log::Warn("snapshot: removing snapshot {}: its parent {} is gone", it->first, parent);
      KILN_RETURN_IF_ERROR(RemoveAll(Dir(it->second.id)));
      it = loaded.erase(it);
      changed = true;
    }
  }
  snaps_ = std::move(loaded);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Snapshotter>> NewOverlaySnapshotter(const std::string& root) {
  KILN_ASSIGN_OR_RETURN(std::string options, CheckOverlaySupport(root));
  auto s = std::make_unique<OverlaySnapshotter>(root, std::move(options));
  KILN_RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Snapshotter>(std::move(s));
}

}  // namespace kiln::snapshot
