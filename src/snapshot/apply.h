#pragma once
// Layer apply: unpacks an OCI/Docker layer (a tar, plain, gzip or zstd) onto a directory,
// streaming, with whiteouts and tar-slip safety (containerd's archive.Apply).
//
// - Entries: regular files, directories, symlinks, hardlinks (to entries of this layer or of the
//   lower layers), char/block devices and FIFOs, with numeric uid/gid, permission bits incl.
//   setuid/setgid/sticky, nanosecond mtime/atime and PAX SCHILY.xattr.* xattrs (incl.
//   security.capability; trusted.overlay.* xattrs in the tar are dropped). Directory modes and
//   times are set after all entries, so later entries do not disturb them.
// - An existing entry is replaced (removed first) unless both are directories, which merge.
// - Whiteouts: ".wh.<name>" hides <name> of the lower layers; ".wh..wh..opq" hides everything of
//   the lower layers in its directory. Either only ever hides lower layers' entries, never this
//   layer's own, whatever their order in the tar. Other ".wh..wh.*" (AUFS metadata) is skipped.
// - Safety: names are cleaned and a leading "/" is dropped (containerd and GNU tar treat "/a" as
//   "a"); a name or hardlink target that climbs out with ".." is InvalidArgument
//   (`layer entry "../evil": path escapes the snapshot`); every file is created fd-relative in a
//   directory opened component by component without following symlinks, and symlinks met in a
//   parent path resolve inside dest as if it were "/" (so "evil -> /" then "evil/file" writes
//   dest/file, as containerd does). Nothing is ever written outside dest.
// - A corrupt or truncated stream is DataLoss naming the entry and tar offset; the partly applied
//   dest is then the caller's to discard. Cancellation is checked between entries and blocks.
// - Diff ID: the sha256 of the whole uncompressed stream (read to its end, past the tar's end
//   blocks, as containerd does) is computed in the same pass and returned; when the caller
//   expects one (the image config's rootfs.diff_ids), a different one is DataLoss
//   (`wrong diff ID: the image config says sha256:..., the layer's content is sha256:...`) and
//   dest, fully written, is the caller's to discard.
//
// Stateless functions; two applies must not target the same directory at once.

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/layer_reader.h"
#include "snapshot/snapshotter.h"
#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::snapshot {

enum class ApplyMode {
  // dest already holds the parent's whole tree (native snapshotter): whiteouts delete from it.
  kMerged,
  // dest is the empty upperdir of an overlayfs snapshot: a whiteout becomes a 0:0 char device,
  // an opaque directory gets trusted.overlay.opaque=y, nothing of the lower layers is touched.
  kOverlay,
};

struct ApplyOptions {
  ApplyMode mode = ApplyMode::kMerged;
  // kOverlay: the lower layers' directories, most recent first. A directory the layer implies but
  // does not list takes its metadata from the first lower that has it (as containerd's mkparent),
  // and a hardlink to a file of a lower layer first copies that file up into dest.
  std::vector<std::string> lower_dirs;
  // When set, the diff ID the layer must have.
  Digest expected_diff_id;
};

struct ApplyStats {
  int64_t entries = 0;  // tar entries read (whiteouts and skipped ones included)
  int64_t bytes = 0;    // file content bytes written
  Digest diff_id;       // sha256 of the uncompressed stream
};

Result<ApplyStats> ApplyLayer(const Context& ctx, const ByteSource& src, const std::string& dest,
                              const ApplyOptions& opts);

// The same from a blob file (compressed or not).
Result<ApplyStats> ApplyLayerFile(const Context& ctx, const std::string& blob,
                                  const std::string& dest, const ApplyOptions& opts);

// Applies a layer to the active snapshot `key`: into its upper dir in overlay mode when the
// snapshotter has one (overlayfs), else through a writable mount in merged mode (native).
// `expected_diff_id`, when set, as ApplyOptions::expected_diff_id.
Result<ApplyStats> ApplyLayerToSnapshot(const Context& ctx, Snapshotter& sn, const std::string& key,
                                        const ByteSource& src,
                                        const Digest& expected_diff_id = Digest());

}  // namespace kiln::snapshot
