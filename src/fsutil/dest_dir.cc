#include "fsutil/dest_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "fsutil/filemode.h"
#include "util/path.h"

namespace kiln::fsutil::internal {

namespace {

constexpr int kDirFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::vector<std::string> Components(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Result<std::vector<std::string>> ReadNames(int dirfd_owned) {
  DIR* d = fdopendir(dirfd_owned);
  if (d == nullptr) {
    int err = errno;
    close(dirfd_owned);
    return ErrnoStatus(err, "read directory");
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  closedir(d);
  if (err != 0) return ErrnoStatus(err, "read directory");
  return names;
}

// Removes `name` in dirfd recursively, never following symlinks.
Status RemoveAt(int dirfd, const std::string& name) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status::Ok() : ErrnoStatus(errno, "stat " + name);
  }
  if (S_ISDIR(st.st_mode)) {
    // Make sure an unprivileged receiver can list and empty it.
    if ((st.st_mode & 0700) != 0700) fchmodat(dirfd, name.c_str(), 0700, 0);
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open " + name);
    UniqueFd dir(fd);
    int list_fd = dup(fd);
    if (list_fd < 0) return ErrnoStatus(errno, "dup");
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadNames(list_fd));
    for (const std::string& n : names) {
      KILN_RETURN_IF_ERROR(RemoveAt(dir.get(), n).Annotate(name));
    }
    if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "remove " + name);
    }
    return Status::Ok();
  }
  if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove " + name);
  }
  return Status::Ok();
}

timespec ToTimespec(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

bool HaveProcFd() {
  static const bool have = access("/proc/self/fd", X_OK) == 0;
  return have;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    Reset();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Result<DestDir> DestDir::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return ErrnoStatus(ec.value(), "create destination " + path);
  int fd = open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open destination " + path);
  return DestDir(path, UniqueFd(fd));
}

Result<std::pair<int, std::string>> DestDir::Parent(std::string_view rel) {
  std::string base(Base(rel));
  std::string_view dir = Dir(rel);
  if (dir == ".") return std::make_pair(root_.get(), std::move(base));
  std::vector<std::string> comps = Components(dir);
  size_t keep = 0;
  while (keep < chain_.size() && keep < comps.size() && chain_[keep].first == comps[keep]) keep++;
  chain_.erase(chain_.begin() + static_cast<ptrdiff_t>(keep), chain_.end());
  for (size_t i = keep; i < comps.size(); i++) {
    int parent = i == 0 ? root_.get() : chain_[i - 1].second.get();
    int fd = openat(parent, comps[i].c_str(), kDirFlags);
    if (fd < 0) {
      return ErrnoStatus(errno, "open parent directory of " + std::string(rel) + " in " + path_);
    }
    chain_.emplace_back(comps[i], UniqueFd(fd));
  }
  return std::make_pair(chain_.back().second.get(), std::move(base));
}

Result<UniqueFd> DestDir::OpenDir(std::string_view rel) {
  int fd = openat(root_.get(), ".", kDirFlags);
  if (fd < 0) return ErrnoStatus(errno, "open " + path_);
  UniqueFd cur(fd);
  for (const std::string& c : Components(rel)) {
    fd = openat(cur.get(), c.c_str(), kDirFlags);
    if (fd < 0) return ErrnoStatus(errno, "open directory " + std::string(rel) + " in " + path_);
    cur = UniqueFd(fd);
  }
  return cur;
}

Result<std::string> DestDir::XattrPath(std::string_view rel) {
  if (!HaveProcFd()) return path_ + "/" + std::string(rel);
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  return "/proc/self/fd/" + std::to_string(parent.first) + "/" + parent.second;
}

Result<std::optional<struct stat>> DestDir::Lstat(std::string_view rel) {
  Result<std::pair<int, std::string>> parent = Parent(rel);
  if (!parent.ok()) {
    // A missing parent means a missing entry; a parent that is not a directory (or a symlink)
    // is left for the caller to replace.
    if (parent.status().code() == Code::kNotFound) return std::optional<struct stat>();
    return parent.status();
  }
  struct stat st;
  if (fstatat(parent->first, parent->second.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return ErrnoStatus(errno, "stat " + std::string(rel));
  }
  return std::optional<struct stat>(st);
}

Result<std::optional<Stat>> DestDir::ReadStat(std::string_view rel) {
  KILN_ASSIGN_OR_RETURN(std::optional<struct stat> st, Lstat(rel));
  if (!st.has_value()) return std::optional<Stat>();
  Stat s;
  s.set_path(std::string(rel));
  s.set_mode(GoFileMode(st->st_mode));
  s.set_uid(st->st_uid);
  s.set_gid(st->st_gid);
  s.set_modtime(static_cast<int64_t>(st->st_mtim.tv_sec) * 1000000000 + st->st_mtim.tv_nsec);
  if (!S_ISDIR(st->st_mode)) s.set_size(st->st_size);
  if (S_ISLNK(st->st_mode)) {
    KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
    std::string target(static_cast<size_t>(st->st_size) + 256, '\0');
    ssize_t n = readlinkat(parent.first, parent.second.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoStatus(errno, "readlink " + std::string(rel));
    target.resize(static_cast<size_t>(n));
    s.set_linkname(std::move(target));
  }
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    s.set_devmajor(major(st->st_rdev));
    s.set_devminor(minor(st->st_rdev));
  }
  return std::optional<Stat>(std::move(s));
}

Result<XattrMap> DestDir::ReadXattrs(std::string_view rel) {
  KILN_ASSIGN_OR_RETURN(std::string xpath, XattrPath(rel));
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  return internal::ReadXattrsAt(parent.first, parent.second, xpath);
}

Result<std::vector<std::string>> DestDir::ListDir(std::string_view rel) {
  int fd = -1;
  if (rel.empty()) {
    fd = openat(root_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } else {
    KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
    fd = openat(parent.first, parent.second.c_str(),
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return ErrnoStatus(errno, "open directory " + std::string(rel) + " in " + path_);
  Result<std::vector<std::string>> names = ReadNames(fd);
  if (!names.ok()) return names.status().Annotate(std::string(rel));
  return names;
}

Status DestDir::Changing() {
  if (!first_change_) return Status::Ok();
  std::function<Status()> fn = std::move(first_change_);
  first_change_ = nullptr;
  return fn();
}

Status DestDir::Mkdir(std::string_view rel, mode_t mode) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  if (mkdirat(parent.first, parent.second.c_str(), mode) != 0) {
    return ErrnoStatus(errno, "create directory " + std::string(rel));
  }
  return Status::Ok();
}

Status DestDir::Symlink(const std::string& target, std::string_view rel) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  if (symlinkat(target.c_str(), parent.first, parent.second.c_str()) != 0) {
    return ErrnoStatus(errno, "create symlink " + std::string(rel));
  }
  return Status::Ok();
}

Status DestDir::Mknod(std::string_view rel, mode_t mode, dev_t dev) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  if (mknodat(parent.first, parent.second.c_str(), mode, dev) != 0) {
    return ErrnoStatus(errno, "create special file " + std::string(rel));
  }
  return Status::Ok();
}

Status DestDir::Link(std::string_view existing, std::string_view rel) {
  KILN_RETURN_IF_ERROR(Changing());
  std::string_view old_dir = Dir(existing);
  KILN_ASSIGN_OR_RETURN(UniqueFd old_parent, OpenDir(old_dir == "." ? "" : old_dir));
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  std::string old_base(Base(existing));
  if (linkat(old_parent.get(), old_base.c_str(), parent.first, parent.second.c_str(), 0) != 0) {
    return ErrnoStatus(errno,
                       "create hardlink " + std::string(rel) + " to " + std::string(existing));
  }
  return Status::Ok();
}

Result<UniqueFd> DestDir::CreateFile(std::string_view rel, mode_t mode) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  int fd = openat(parent.first, parent.second.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
  if (fd < 0) return ErrnoStatus(errno, "create file " + std::string(rel));
  return UniqueFd(fd);
}

Status DestDir::RemoveAll(std::string_view rel) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  Status s = RemoveAt(parent.first, parent.second);
  InvalidateCache();
  return s.Annotate("remove " + std::string(rel) + " in " + path_);
}

Status DestDir::Chown(std::string_view rel, uid_t uid, gid_t gid) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  if (fchownat(parent.first, parent.second.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "chown " + std::string(rel));
  }
  return Status::Ok();
}

Status DestDir::Chmod(std::string_view rel, mode_t mode) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  if (fchmodat(parent.first, parent.second.c_str(), mode, 0) != 0) {
    return ErrnoStatus(errno, "chmod " + std::string(rel));
  }
  return Status::Ok();
}

Status DestDir::SetXattrs(std::string_view rel, const XattrMap& xattrs) {
  KILN_RETURN_IF_ERROR(Changing());
  if (xattrs.empty()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(std::string xpath, XattrPath(rel));
  return WriteXattrs(xpath, xattrs).Annotate(std::string(rel));
}

Status DestDir::ReplaceXattrs(std::string_view rel, const XattrMap& xattrs) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(std::string xpath, XattrPath(rel));
  KILN_ASSIGN_OR_RETURN(XattrMap cur, internal::ReadXattrs(xpath));
  for (const auto& [name, value] : cur) {
    if (!xattrs.contains(name)) {
      KILN_RETURN_IF_ERROR(RemoveXattr(xpath, name).Annotate(std::string(rel)));
    }
  }
  XattrMap changed;
  for (const auto& [name, value] : xattrs) {
    auto it = cur.find(name);
    if (it == cur.end() || it->second != value) changed.emplace(name, value);
  }
  if (changed.empty()) return Status::Ok();
  return WriteXattrs(xpath, changed).Annotate(std::string(rel));
}

Status DestDir::SetMtime(std::string_view rel, int64_t mtime_ns) {
  KILN_RETURN_IF_ERROR(Changing());
  KILN_ASSIGN_OR_RETURN(auto parent, Parent(rel));
  timespec ts[2] = {ToTimespec(mtime_ns), ToTimespec(mtime_ns)};
  if (utimensat(parent.first, parent.second.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "set times of " + std::string(rel));
  }
  return Status::Ok();
}

}  // namespace kiln::fsutil::internal
