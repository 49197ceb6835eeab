#pragma once
// Layer diffs: the changes of a tree against its parent, written as an OCI/Docker layer tar
// (containerd's archive.WriteDiff and BuildKit's overlay differ; rules in docs/dev/layers.md).
//
// - Added and modified entries are written whole: regular files with their content, directories,
//   symlinks, hardlinks, char/block devices and FIFOs (sockets are skipped), with numeric
//   uid/gid, empty user and group names, permission bits incl. setuid/setgid/sticky, the mtime
//   in whole seconds, and the xattrs the filter keeps.
// - A deleted entry becomes a whiteout ".wh.<name>" (a regular, empty file, mode 0, owner 0:0,
//   mtime 0) at the position of the deleted name; nothing below a deleted directory is listed.
//   An overlayfs opaque directory gets "<dir>/.wh..wh..opq" right after its own entry.
// - Every directory that contains a written entry is written too (before its children), even
//   when it did not change itself, as containerd's change writer does.
// - Files sharing an inode: the first written path carries the content; the others are hardlink
//   entries to it, including unchanged paths of that inode once a changed one is written.
// - Order: depth first, siblings by byte order of their names, a directory before its children:
//   the same tree gives the same bytes.
//
// What counts as a change (containerd's rule): a different type, permission bits, owner, device
// number or kept xattrs; for non-directories also a different size or mtime (seconds, then
// nanoseconds), a different symlink target, or, when both mtimes have no nanoseconds (e.g. both
// came from a tar), different content.
//
// Stateless functions; trees must not change while they are diffed.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "snapshot/snapshotter.h"
#include "util/context.h"
#include "util/status.h"
#include "util/tar_writer.h"

namespace kiln::layer {

struct DiffOptions {
  // Mtimes later than this (unix seconds) are written as this: BuildKit's rewrite-timestamp with
  // SOURCE_DATE_EPOCH. Whiteouts always have mtime 0.
  std::optional<int64_t> clamp_mtime;
  // Which xattrs are written and compared. Unset: only security.capability, as containerd and
  // BuildKit write layers. overlayfs's own (trusted.overlay.*, user.overlay.*) never are.
  std::function<bool(std::string_view name)> xattr_filter;
};

struct DiffStats {
  int64_t entries = 0;    // tar entries written (whiteouts included)
  int64_t whiteouts = 0;  // ".wh." entries, the opaque markers included
  bool overlay = false;   // computed from an overlayfs upper dir (else by walking both trees)
};

// The changes from the tree at `lower` ("" for an empty tree) to the tree at `upper`, found by
// walking both (containerd's double-walking differ). The tar is closed at the end.
Result<DiffStats> WriteTreeDiff(const Context& ctx, const std::string& lower,
                                const std::string& upper, const DiffOptions& opts,
                                const ByteSink& sink);

// The changes recorded in the overlayfs upper dir `upperdir` on top of `base`, the merged tree of
// its lower dirs ("" when it has none): whiteout devices become whiteouts (dropped when base has
// no such entry), opaque directories (trusted.overlay.opaque or user.overlay.opaque "y") get the
// opaque marker, copied-up entries equal to base's are left out. A redirected directory or a
// metacopy file (overlay features the snapshotter turns off) is FailedPrecondition.
Result<DiffStats> WriteOverlayDiff(const Context& ctx, const std::string& upperdir,
                                   const std::string& base, const DiffOptions& opts,
                                   const ByteSink& sink);

// The diff of snapshot `key` against snapshot `parent` ("" for none). From key's own upper dir
// when the snapshotter keeps one (DiffDirs) and `parent` is key's direct parent; otherwise by
// walking read-only mounts of both.
Result<DiffStats> WriteSnapshotDiff(const Context& ctx, snapshot::Snapshotter& sn,
                                    const std::string& key, const std::string& parent,
                                    const DiffOptions& opts, const ByteSink& sink);

}  // namespace kiln::layer
