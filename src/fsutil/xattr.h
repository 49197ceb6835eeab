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

// Sets each attribute on `path` (lsetxattr). Attributes the kernel refuses for this file type or
// caller (EPERM, ENOTSUP) are skipped, as upstream fsutil does; other errors fail.
Status WriteXattrs(const std::string& path, const XattrMap& xattrs);

// The same on an open file.
Status WriteXattrsFd(int fd, const XattrMap& xattrs);

}  // namespace kiln::fsutil::internal
