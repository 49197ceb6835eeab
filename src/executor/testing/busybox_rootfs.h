#pragma once
// A busybox root filesystem for real-runtime tests, made from the host's /bin/busybox
// (busybox-static): the binary, its applet symlinks in /bin, /etc/passwd (root, user 1000:1000)
// and /etc/group (root, staff 50 with user, user 1000). Not thread-safe.

#include <string>

namespace kiln::executor::testing {

// Fills `dir` (existing, empty); "" on success, else what went wrong.
std::string MakeBusyboxRootfs(const std::string& dir);

// Why real-runtime tests cannot run here ("" if they can): not root, no busybox, no runtime.
std::string RuntimeTestSkipReason(const std::string& runtime);

}  // namespace kiln::executor::testing
