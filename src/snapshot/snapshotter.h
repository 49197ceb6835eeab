#pragma once
// Snapshotter: named filesystem trees, writable while active and immutable once committed, each
// usually on top of a parent (containerd's snapshotter, in small). The native implementation
// copies the parent's tree; the overlayfs one (overlay.h) stacks each snapshot's own changes
// over its committed parents. Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln::snapshot {

// A snapshot made visible at a host path. Move-only RAII: unmounts (if it mounted anything)
// when destroyed, so a failed or cancelled build leaves no mount behind.
class Mount {
 public:
  virtual ~Mount() = default;
  virtual const std::string& path() const = 0;
};

// Where the changes of an active snapshot can be written directly, without a mount: its own
// directory (an overlayfs upperdir) and the directories of its committed parents, most recent
// first. Layer apply writes there in overlay mode (apply.h).
struct UpperDirInfo {
  std::string upper;
  std::vector<std::string> lowers;
};

struct SnapshotInfo {
  std::string key;
  std::string parent;
  bool committed = false;
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;
  virtual std::string name() const = 0;
  // Creates a writable snapshot `key` holding `parent`'s tree (empty when parent is "").
  virtual Status Prepare(const Context& ctx, const std::string& key, const std::string& parent) = 0;
  // Makes `key` immutable.
  virtual Status Commit(const std::string& key) = 0;
  // Mounts `key`; readonly mounts of an active snapshot are allowed.
  virtual Result<std::unique_ptr<Mount>> MountSnapshot(const std::string& key, bool readonly) = 0;
  virtual Status Remove(const std::string& key) = 0;
  // Bytes used by `key` alone; data shared with others (same inode) counted in `seen` once.
  virtual Result<int64_t> Usage(const std::string& key) = 0;
  virtual Result<std::vector<SnapshotInfo>> List() = 0;
  // The upper dir of the active snapshot `key`, for snapshotters that keep a snapshot's own
  // changes apart from its parents'. Unimplemented where a snapshot is a whole tree (native):
  // there, mount it writable and apply in merged mode.
  virtual Result<UpperDirInfo> UpperDir(const std::string& key) {
    return Unimplemented(name() + " snapshots have no separate upper dir");
  }
  // The same directories for reading only, for an active or a committed snapshot: the layer
  // differ walks `upper` as the changes of `key` against its parent (layer/layer_diff.h).
  // Nothing may be written there. Unimplemented where a snapshot is a whole tree (native).
  virtual Result<UpperDirInfo> DiffDirs(const std::string& key) {
    return Unimplemented(name() + " snapshots have no separate upper dir");
  }
};

// A directory as a Mount: nothing is mounted, so nothing to undo (native snapshots, views).
std::unique_ptr<Mount> NewPathMount(std::string path);

// Copying snapshotter rooted at `root` (root/<key>/fs). Leftovers of interrupted prepares are
// removed at open.
Result<std::unique_ptr<Snapshotter>> NewNativeSnapshotter(const std::string& root);

}  // namespace kiln::snapshot
