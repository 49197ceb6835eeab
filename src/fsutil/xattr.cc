#include "fsutil/xattr.h"

#include <sys/xattr.h>

#include <cerrno>
#include <string_view>
#include <vector>

namespace kiln::fsutil::internal {

namespace {

bool Unsupported(int err) { return err == ENOTSUP || err == EOPNOTSUPP; }

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

Status WriteXattrs(const std::string& path, const XattrMap& xattrs) {
  for (const auto& [name, value] : xattrs) {
    if (lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      if (errno == EPERM || Unsupported(errno)) continue;
      return ErrnoStatus(errno, "set xattr " + name + " on " + path);
    }
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
