#include "fsutil/xattr.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string_view>
#include <vector>

namespace kiln::fsutil::internal {

namespace {

// listxattrat(2) is new in Linux 6.13 and not in older headers. New system calls have one
// number on every architecture that uses the common table (x86-64 and arm64 included).
#if defined(__NR_listxattrat)
constexpr long kSysListxattrat = __NR_listxattrat;
#elif defined(__x86_64__) || defined(__aarch64__)
constexpr long kSysListxattrat = 465;
#else
constexpr long kSysListxattrat = -1;
#endif

bool Unsupported(int err) { return err == ENOTSUP || err == EOPNOTSUPP; }

// The size of the name list of `name` in dirfd (0: no attributes); -1 with errno set, ENOSYS
// where the call cannot be used.
ssize_t ListXattrSizeAt(int dirfd, const std::string& name) {
  static std::atomic<bool> missing{kSysListxattrat < 0};
  if (!missing.load(std::memory_order_relaxed)) {
    long n = syscall(kSysListxattrat, dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, nullptr, 0);
    // ENOSYS: an older kernel; EPERM: a seccomp filter that does not know the call yet.
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return static_cast<ssize_t>(n);
    missing.store(true, std::memory_order_relaxed);
  }
  errno = ENOSYS;
  return -1;
}

}  // namespace

Result<XattrMap> ReadXattrs(const std::string& path) {
  XattrMap out;
  std::vector<char> names;
  while (true) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) {
      if (Unsupported(errno)) return out;
      return ErrnoStatus(errno, "list xattrs of " + path);
    }
    if (n == 0) return out;
    names.resize(static_cast<size_t>(n));
    n = llistxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) return ErrnoStatus(errno, "list xattrs of " + path);
  }
  for (size_t i = 0; i < names.size();) {
    std::string name(names.data() + i);
    i += name.size() + 1;
    if (name.empty() || std::string_view(name).starts_with("com.apple.")) continue;
    std::string value;
    while (true) {
      ssize_t n = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (n < 0) break;  // removed meanwhile, or unreadable: skip like upstream
      value.resize(static_cast<size_t>(n));
      n = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        out.emplace(name, std::move(value));
        break;
      }
      if (errno != ERANGE) break;
    }
  }
  return out;
}

Result<XattrMap> ReadXattrsAt(int dirfd, const std::string& name, const std::string& path) {
  ssize_t n = ListXattrSizeAt(dirfd, name);
  if (n == 0 || (n < 0 && Unsupported(errno))) return XattrMap();
  return ReadXattrs(path);  // attributes to read, or no listxattrat: errors are reported there
}

Status WriteXattrs(const std::string& path, const XattrMap& xattrs) {
  for (const auto& [name, value] : xattrs) {
    if (lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      if (errno == EPERM || Unsupported(errno)) continue;
      return ErrnoStatus(errno, "set xattr " + name + " on " + path);
    }
  }
  return Status::Ok();
}

Status RemoveXattr(const std::string& path, const std::string& name) {
  if (lremovexattr(path.c_str(), name.c_str()) != 0) {
    if (errno == ENODATA || errno == EPERM || Unsupported(errno)) return Status::Ok();
    return ErrnoStatus(errno, "remove xattr " + name + " of " + path);
  }
  return Status::Ok();
}

Status WriteXattrsFd(int fd, const XattrMap& xattrs) {
  for (const auto& [name, value] : xattrs) {
    if (fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0) {
      if (errno == EPERM || Unsupported(errno)) continue;
      return ErrnoStatus(errno, "set xattr " + name);
    }
  }
  return Status::Ok();
}

}  // namespace kiln::fsutil::internal
