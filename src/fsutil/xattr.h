#pragma once
// Extended attribute helpers for the walker and the receiver. Paths are host paths; a final
// symlink is never followed. Stateless, thread-safe.

#include <map>
#include <string>

#include "util/status.h"

namespace kiln::fsutil::internal {

using XattrMap = std::map<std::string, std::string>;

// All attributes of `path` (lgetxattr). A filesystem without xattr support yields none.
Result<XattrMap> ReadXattrs(const std::string& path);

// The same for `name` in the directory open as `dirfd`, which `path` also names. Where the
// kernel has listxattrat (Linux 6.13), an entry without attributes, the common case, costs one
// lookup of `name` instead of a walk of `path`; otherwise, or when there are attributes to
// read, this is ReadXattrs(path).
Result<XattrMap> ReadXattrsAt(int dirfd, const std::string& name, const std::string& path);

// Sets each attribute on `path` (lsetxattr). Attributes the kernel refuses for this file type or
// caller (EPERM, ENOTSUP) are skipped, as upstream fsutil does; other errors fail.
Status WriteXattrs(const std::string& path, const XattrMap& xattrs);

// Removes one attribute of `path` (lremovexattr). Missing is fine; an attribute the kernel
// refuses to remove for this caller (EPERM, ENOTSUP) is left, like WriteXattrs skips it.
Status RemoveXattr(const std::string& path, const std::string& name);

// The same as WriteXattrs on an open file.
Status WriteXattrsFd(int fd, const XattrMap& xattrs);

}  // namespace kiln::fsutil::internal
