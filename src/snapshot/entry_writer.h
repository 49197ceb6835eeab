#pragma once
// Creating one layer entry in an open directory, fd-relative and never following a symlink at
// the entry's own name: the content of a regular file, a directory, symlink, device or FIFO, and
// its metadata (numeric owner, xattrs, permission bits, nanosecond times). Stateless helpers of
// the layer applier (apply.cc); thread-compatible.

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "snapshot/layer_reader.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::snapshot {

// The overlayfs xattr namespace. Xattrs of this prefix in a tar are dropped: in an upper dir
// they would steer overlayfs (opaque, redirect, metacopy) instead of describing a file.
inline constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";
inline constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";

// {atime, mtime} for utimensat: the entry's atime when the tar has one, else its mtime.
void EntryTimes(const LayerEntry& e, struct timespec ts[2]);

// Creates the regular file `name` in dir_fd (nothing may exist there) and streams the current
// entry's content into it from `reader`, checking ctx between blocks. Adds bytes to *written.
Status WriteFileContent(const Context& ctx, LayerReader& reader, int dir_fd,
                        const std::string& name, int64_t size, int64_t* written);

// Makes the non-regular, non-hardlink entry e (directory, symlink, device, FIFO) at `name` in
// dir_fd; an existing directory is kept for a directory entry.
Status MakeNode(int dir_fd, const std::string& name, const LayerEntry& e);

// Owner (numeric, never looked up by name) and then the xattrs: chown clears
// security.capability, so the xattrs come after it. Unsupported xattrs are skipped.
Status SetOwnerAndXattrs(int dir_fd, const std::string& name, const LayerEntry& e);

// Sets one xattr on `name` in dir_fd (not following a symlink there; "" is dir_fd itself).
// With skip_unsupported, a filesystem or file type that refuses the xattr's namespace
// (ENOTSUP; EPERM for user.* on a symlink) is not an error, as in containerd.
Status SetXattrAt(int dir_fd, const std::string& name, const std::string& key,
                  const std::string& value, bool skip_unsupported = false);

// Permission bits (not for symlinks, which have none on Linux) and then times.
Status SetModeAndTimes(int dir_fd, const std::string& name, bool is_symlink, uint32_t perm,
                       const struct timespec ts[2]);

}  // namespace kiln::snapshot
