#include "executor/runtime_check.h"

#include <sys/statfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace kiln::executor {

Result<std::string> LookPath(const std::string& bin) {
  if (bin.empty()) return InvalidArgument("no OCI runtime binary configured");
  if (bin.find('/') != std::string::npos) {
    if (access(bin.c_str(), X_OK) != 0) return ErrnoStatus(errno, "OCI runtime " + bin);
    return bin;
  }
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t i = 0;
  while (i <= dirs.size()) {
    size_t j = dirs.find(':', i);
    if (j == std::string::npos) j = dirs.size();
    std::string dir = dirs.substr(i, j - i);
    i = j + 1;
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + bin;
    if (access(cand.c_str(), X_OK) == 0) return cand;
  }
  return NotFound("failed to find " + bin + " binary in PATH");
}

CgroupLayout DetectCgroupLayout() {
  CgroupLayout l;
  struct statfs root, unified;
  if (statfs("/sys/fs/cgroup", &root) != 0 || root.f_type != TMPFS_MAGIC) return l;
  if (statfs("/sys/fs/cgroup/unified", &unified) != 0 ||
      static_cast<unsigned long>(unified.f_type) != CGROUP2_SUPER_MAGIC) {
    return l;
  }
  l.hybrid = true;
  std::ifstream f("/sys/fs/cgroup/unified/cgroup.controllers");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string c = ss.str();
  while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
  l.unified_controllers = c;
  return l;
}

bool IsCrun(const std::string& version_output) {
  return version_output.rfind("crun version", 0) == 0;
}

Status CheckRuntimeSupports(const std::string& version_output, const CgroupLayout& layout) {
  if (IsCrun(version_output) && layout.hybrid && !layout.unified_controllers.empty()) {
    return FailedPrecondition(
        "crun cannot start containers on this host: cgroups are in hybrid mode (v1 controllers "
        "with cgroup2 at /sys/fs/cgroup/unified, which has controllers: " +
        layout.unified_controllers + "); use runc");
  }
  return Status::Ok();
}

}  // namespace kiln::executor
