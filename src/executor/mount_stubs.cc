#include "executor/mount_stubs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/path.h"

namespace kiln::executor {
namespace {

bool EmptyDir(const std::string& p) {
  DIR* d = opendir(p.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

}  // namespace

MountStubs::MountStubs(const std::string& rootfs, const std::vector<std::string>& dests,
                       bool recursive) {
  std::vector<std::string> names = {"/etc/resolv.conf", "/etc/hosts"};
  names.insert(names.end(), dests.begin(), dests.end());
  for (const auto& n : names) {
    std::string p = CleanPath("/" + n);
    if (p == "/") continue;
    auto real = ResolveInRoot(rootfs, p, false);
    if (!real.ok()) continue;
    std::string cur = *real;
    while (cur.size() > rootfs.size()) {
      struct stat st;
      if (lstat(cur.c_str(), &st) == 0 || (errno != ENOENT && errno != ENOTDIR)) break;
      paths_.push_back(cur);
      if (!recursive) break;
      cur = std::string(Dir(cur));
    }
  }
}

void MountStubs::Clean() const {
  for (const auto& p : paths_) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (!EmptyDir(p)) continue;
    } else if (st.st_size != 0) {
      continue;
    }
    std::string parent(Dir(p));
    struct stat pst;
    bool have_times = stat(parent.c_str(), &pst) == 0;
    if ((S_ISDIR(st.st_mode) ? rmdir(p.c_str()) : unlink(p.c_str())) != 0) continue;
    if (have_times) {
      timespec ts[2] = {pst.st_atim, pst.st_mtim};
      utimensat(AT_FDCWD, parent.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
  }
}

}  // namespace kiln::executor
