#pragma once
// Mounting for the overlayfs snapshotter: overlay and read-only bind mounts on fresh mount
// points, and the RAII handle that undoes them. Thread-safe (no shared state).
//
// Long layer chains: mount(2) takes at most one page (4096 bytes) of options. Overlay mounts are
// therefore made with paths relative to the snapshots directory ("12/fs:7/fs"), from a helper
// thread that unshares its filesystem context (unshare(CLONE_FS)) and chdirs there, so the
// daemon's own working directory never changes (containerd mounts from a chdir-ed child for the
// same reason). With short numeric ids this fits ~450 layers; overlayfs itself stacks at most
// 500 lowers. Longer option strings are refused with ResourceExhausted, never truncated.

#include <memory>
#include <string>
#include <vector>

#include "snapshot/snapshotter.h"
#include "util/status.h"

namespace kiln::snapshot {

inline constexpr size_t kMaxMountData = 4095;     // one page minus the NUL
inline constexpr size_t kMaxOverlayLowers = 500;  // overlayfs' OVL_MAX_STACK

struct OverlaySpec {
  std::string base_dir;             // the relative paths below are resolved from here
  std::vector<std::string> lowers;  // most recent first; at least one (two when no upper)
  std::string upper;                // empty: a read-only mount of the lowers alone
  std::string work;
  std::string options;  // extra comma-separated options, e.g. "index=off"
};

// The options string mount(2) receives for spec.
std::string OverlayMountData(const OverlaySpec& spec);

// Mounts an overlay at target (an existing directory).
Status MountOverlay(const OverlaySpec& spec, const std::string& target);

// Bind-mounts src at target, read-only.
Status BindReadonly(const std::string& src, const std::string& target);

// Unmounts target; a busy mount is detached (MNT_DETACH) instead. Not mounted is fine.
Status Unmount(const std::string& target);

// Makes a new empty directory with a random name under dir.
Result<std::string> MakeMountPoint(const std::string& dir);

// A snapshot visible at a path. When `mounted`, the destructor unmounts it (detaching if busy)
// and removes the mount point; otherwise the path is the snapshot's own directory and is left
// alone. Move-only through unique_ptr<Mount>; copying would unmount twice.
class MountHandle : public Mount {
 public:
  MountHandle(std::string path, bool mounted) : path_(std::move(path)), mounted_(mounted) {}
  MountHandle(const MountHandle&) = delete;
  MountHandle& operator=(const MountHandle&) = delete;
  ~MountHandle() override;
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  bool mounted_;
};

}  // namespace kiln::snapshot
