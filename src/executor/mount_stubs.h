#pragma once
// Mount stubs: the empty files and directories an OCI runtime creates in a writable rootfs as
// mount points for mounts whose destination did not exist (and for /etc/hosts and
// /etc/resolv.conf). They are not part of what the step wrote, so they are removed after the
// run when still empty, and the parent's times are put back, as BuildKit does: a RUN with a
// cache mount at /root/.cache leaves no /root/.cache behind.

#include <string>
#include <vector>

namespace kiln::executor {

class MountStubs {
 public:
  // Records which of `dests` (container paths; /etc/hosts and /etc/resolv.conf are added) are
  // missing in `rootfs` now. With `recursive`, missing parents are recorded too (ExecOp's
  // removeMountStubsRecursive).
  MountStubs(const std::string& rootfs, const std::vector<std::string>& dests, bool recursive);
  // Removes the recorded paths that are still empty files or empty directories, innermost
  // first. Errors are ignored (a stub that cannot be removed stays, as in BuildKit).
  void Clean() const;
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::vector<std::string> paths_;  // host paths under rootfs
};

}  // namespace kiln::executor
