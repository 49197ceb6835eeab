#include "client/tree_merge.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace kiln::client {

namespace {

Result<std::vector<std::string>> ListNames(int dirfd) {
  int fd = dup(dirfd);
  if (fd < 0) return ErrnoStatus(errno, "dup");
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return ErrnoStatus(errno, "opendir");
  }
  rewinddir(d);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  closedir(d);
  return names;
}

Status RemoveAllAt(int dirfd, const std::string& name) {
  struct stat st {};
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status::Ok() : ErrnoStatus(errno, "stat " + name);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open " + name);
    auto names = ListNames(fd);
    Status s = names.status();
    if (names.ok()) {
      for (const std::string& n : *names) {
        s = RemoveAllAt(fd, n);
        if (!s.ok()) break;
      }
    }
    close(fd);
    KILN_RETURN_IF_ERROR(s);
    if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0)
      return ErrnoStatus(errno, "rmdir " + name);
    return Status::Ok();
  }
  if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove " + name);
  }
  return Status::Ok();
}

// Merges directory src_fd into dst_fd entry by entry.
Status MergeDir(int src_fd, int dst_fd) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(src_fd));
  for (const std::string& name : names) {
    struct stat s {};
    struct stat d {};
    if (fstatat(src_fd, name.c_str(), &s, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, "stat " + name);
    }
    bool dst_exists = fstatat(dst_fd, name.c_str(), &d, AT_SYMLINK_NOFOLLOW) == 0;
    if (dst_exists && S_ISDIR(s.st_mode) && S_ISDIR(d.st_mode)) {
      int sfd = openat(src_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sfd < 0) return ErrnoStatus(errno, "open " + name);
      int dfd = openat(dst_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd < 0) {
        close(sfd);
        return ErrnoStatus(errno, "open " + name);
      }
      Status st = MergeDir(sfd, dfd);
      if (st.ok() && fchmod(dfd, s.st_mode & 07777) != 0) st = ErrnoStatus(errno, "chmod " + name);
      timespec times[2] = {s.st_atim, s.st_mtim};
      if (st.ok() && futimens(dfd, times) != 0) st = ErrnoStatus(errno, "set times of " + name);
      close(sfd);
      close(dfd);
      KILN_RETURN_IF_ERROR(st);
      continue;
    }
    if (dst_exists) KILN_RETURN_IF_ERROR(RemoveAllAt(dst_fd, name));
    if (renameat(src_fd, name.c_str(), dst_fd, name.c_str()) != 0) {
      return ErrnoStatus(errno, "move " + name);
    }
  }
  return Status::Ok();
}

}  // namespace

Status MergeTree(const std::string& src, const std::string& dst) {
  int sfd = open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0) return ErrnoStatus(errno, "open " + src);
  int dfd = open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    close(sfd);
    return ErrnoStatus(errno, "open " + dst);
  }
  Status s = MergeDir(sfd, dfd);
  close(sfd);
  close(dfd);
  KILN_RETURN_IF_ERROR(s);
  return RemoveTree(src);  // src now holds only merged (emptied) directories
}

Status RemoveTree(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  int pfd = open(parent.empty() ? "/" : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) return ErrnoStatus(errno, "open " + parent);
  Status s = RemoveAllAt(pfd, base);
  close(pfd);
  return s;
}

}  // namespace kiln::client
