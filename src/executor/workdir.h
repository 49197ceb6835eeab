#pragma once
// Creating a step's working directory inside its rootfs, as BuildKit's runc executor does when
// the directory is missing. Stateless, thread-safe.

#include <cstdint>
#include <string>

#include "util/status.h"

namespace kiln::executor {

// Creates `cwd` (a container path) inside `rootfs` when missing, like `mkdir -p`: symlinks on
// the way are followed as if rootfs were "/" (never out of it), each directory made here gets
// mode 0755 and owner uid:gid; existing ones are left alone. FailedPrecondition when a
// component exists and is not a directory.
Status MakeWorkdir(const std::string& rootfs, const std::string& cwd, uint32_t uid, uint32_t gid);

}  // namespace kiln::executor
