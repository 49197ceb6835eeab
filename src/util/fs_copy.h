#pragma once
// Copying file trees while keeping everything a content checksum covers and more: content,
// permission bits (incl. setuid/setgid/sticky), ownership, nanosecond atime/mtime, all xattrs
// (on files, directories and, where the kernel allows, symlinks), hardlinks within the tree,
// symlinks as links, devices and FIFOs. Sockets are skipped. Symlinks are never followed.
// Also the small directory/xattr readers that the other tree walkers (tar, checksums) share.
// Stateless functions; thread-safe as long as callers do not copy onto the same paths at once.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln {

struct CopyOptions {
  // Ownership override applied to every copied entry (each part independently).
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  // Permission bits (07777 incl. setuid/setgid/sticky) applied to every copied entry except
  // symlinks, which have no mode of their own on Linux.
  std::optional<uint32_t> mode;
  // atime and mtime (unix nanoseconds) applied to every copied entry.
  std::optional<int64_t> timestamp_ns;
  // Filter on paths relative to src ("a/b", no leading "/"); the src root itself is always
  // copied. Returning false skips the entry; a skipped directory is still descended into when
  // may_contain_matches(rel_dir) says so, and is then created (with its source metadata) only
  // if something below it is copied. Both are optional.
  std::function<bool(std::string_view rel_path, bool is_dir)> filter;
  std::function<bool(std::string_view rel_dir)> may_contain_matches;
  // Regular files are hard-linked to the source instead of copied (directories, symlinks and
  // devices are still made anew). Only for sources whose files are never modified in place, only
  // replaced (a local source's sync dir); ignored when an ownership, mode or time override is set.
  bool link_files = false;
};

// Copies the file, directory or symlink tree at src to the path dst (dst names the copy itself,
// its parent must exist). An existing directory at a destination path is merged into and gets
// the source directory's metadata; any other existing entry at a destination path (including a
// directory where the source is not one) is removed first. Directory metadata is applied after
// the directory's children are written, so read-only directories and directory times survive.
// Checks ctx for cancellation between entries and during large file copies.
Status CopyTree(const Context& ctx, const std::string& src, const std::string& dst,
                const CopyOptions& opts);

// Makes dst (an empty or missing directory; its parent must exist) a copy of the directory src
// whose regular files are hard links to src's, as CopyTree with link_files but quicker: it walks
// with directory fds and the directory entries' types, so a file costs one linkat and no stat.
// Directories, symlinks and devices are made anew with their metadata; sockets are skipped.
Status LinkTree(const Context& ctx, const std::string& src, const std::string& dst);

// Copies one regular file src to dst (replacing a non-directory at dst) with its metadata:
// content (reflink when the filesystem can, else copy_file_range, else read/write), then
// ownership, xattrs, mode and times. Hardlinks are not considered.
Status CopyFile(const Context& ctx, const std::string& src, const std::string& dst,
                const CopyOptions& opts);

// Removes path and everything below it without following symlinks; makes read-only
// directories writable on the way. A missing path is not an error.
Status RemoveAll(const std::string& path);

// One extended attribute. Values are raw bytes.
struct Xattr {
  std::string name;
  std::string value;
  auto operator<=>(const Xattr&) const = default;
};

// All xattrs of path (not following a final symlink), sorted by name. A filesystem without
// xattr support yields an empty list.
Result<std::vector<Xattr>> ReadXattrs(const std::string& path);

// Names in directory dir except "." and "..", sorted byte-wise.
Result<std::vector<std::string>> ReadDirNames(const std::string& dir);

}  // namespace kiln
