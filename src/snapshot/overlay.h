#pragma once
// The overlayfs snapshotter (containerd's, in small) and the choice between it and the native
// one.
//
// Layout under root:
//   snapshots/<id>/fs         the snapshot's own changes: its overlay upperdir while active, one
//                             of its children's lowerdirs once committed
//   snapshots/<id>/work       overlay workdir
//   snapshots/<id>/info.json  key, parent, active or committed (overlay_meta.h)
//   mounts/<random>           mount points of live Mount handles
// Ids are small numbers so that long lowerdir chains fit in one mount(2) page (overlay_mount.h).
//
// Mounts (MountSnapshot):
//   writable, no parent        the fs dir itself, no mount (hard links into it work)
//   writable, with parents     overlay: lowerdir=parents' fs (most recent first), upperdir, workdir
//   read-only, one layer       a read-only bind mount of the fs dir
//   read-only, several layers  overlay of lowerdirs only (the snapshot's own fs on top)
// Mount handles unmount (detaching a busy mount) and remove their mount point when destroyed.
// Only committed snapshots can be parents, and a snapshot with children cannot be removed.
// Callers must not remove a snapshot while a mount of it (or of a child) is alive; the cache
// manager's refs guarantee that.
//
// At open, stale mounts under mounts/ (a crashed daemon's) are detached, half-prepared or
// half-removed snapshots are deleted, and so are snapshots whose parent is gone.

#include <memory>
#include <string>

#include "snapshot/snapshotter.h"
#include "util/status.h"

namespace kiln::snapshot {

// Tries a real overlay mount in a temporary directory under root: two lowers and an upper that
// holds a whiteout device (mknod 0:0) and an opaque directory (trusted.overlay.opaque), on a
// filesystem with d_type, then checks the merged view and that writes land in the upper. Returns
// the extra mount options this kernel accepts ("index=off,redirect_dir=off,metacopy=off" where it
// can), or why overlayfs cannot be used (e.g. "mount overlay: Operation not permitted").
Result<std::string> CheckOverlaySupport(const std::string& root);
inline bool OverlaySupported(const std::string& root) { return CheckOverlaySupport(root).ok(); }

// The overlayfs snapshotter rooted at root; fails with the reason when overlayfs cannot be used.
Result<std::unique_ptr<Snapshotter>> NewOverlaySnapshotter(const std::string& root);

// name: "overlayfs", "native" or "auto". A root remembers which snapshotter made it
// (root/.snapshotter), and "auto" keeps that one; a new root gets overlayfs when
// CheckOverlaySupport passes and native otherwise (logging why). A root made by native before
// this marker existed stays native. Asking for the other kind than a root's is an error.
Result<std::unique_ptr<Snapshotter>> NewDefaultSnapshotter(const std::string& root,
                                                           const std::string& name);

}  // namespace kiln::snapshot
