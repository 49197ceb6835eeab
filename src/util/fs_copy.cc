#include "util/fs_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <utility>

namespace kiln {
namespace {

constexpr size_t kCopyChunk = 8u << 20;  // bytes per copy call; ctx is checked between calls

// Closes an owned file descriptor. Move-only.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Xattrs whose loss would change a content checksum; failures on the rest are tolerated.
bool IsCoveredXattr(std::string_view name) {
  return StartsWith(name, "user.") || name == "security.capability";
}

Status CopyContent(const Context& ctx, int in, int out, const std::string& src) {
  if (ioctl(out, FICLONE, in) == 0) return Status::Ok();  // reflink: shares extents
  bool use_copy_file_range = true;
  std::vector<char> buf;
  for (;;) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (use_copy_file_range) {
      ssize_t n = copy_file_range(in, nullptr, out, nullptr, kCopyChunk, 0);
      if (n > 0) continue;
      if (n == 0) return Status::Ok();
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) {
        return ErrnoStatus(errno, "copy " + src);
      }
      use_copy_file_range = false;  // offsets have advanced by what was copied; go on from there
      buf.resize(1u << 20);
    }
    ssize_t n = read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read " + src);
    if (n == 0) return Status::Ok();
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoStatus(errno, "write copy of " + src);
      off += w;
    }
  }
}

Status SetXattrs(const std::string& dst, const std::vector<Xattr>& xattrs, bool is_link,
                 bool existing) {
  if (existing) {  // the destination takes the source's set: drop what the source lacks
    KILN_ASSIGN_OR_RETURN(std::vector<Xattr> cur, ReadXattrs(dst));
    for (const Xattr& x : cur) {
      auto same = [&x](const Xattr& y) { return y.name == x.name; };
      if (std::any_of(xattrs.begin(), xattrs.end(), same)) continue;
      if (lremovexattr(dst.c_str(), x.name.c_str()) != 0 && errno != ENODATA &&
          IsCoveredXattr(x.name)) {
        return ErrnoStatus(errno, "remove xattr " + x.name + " from " + dst);
      }
    }
  }
  for (const Xattr& x : xattrs) {
    if (lsetxattr(dst.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0) == 0) continue;
    int err = errno;
    if (x.name == "security.selinux") continue;  // a host label: the destination keeps its own
    // Linux refuses user.* xattrs on symlinks; such a link can only come from another fs.
    if (is_link && (err == EPERM || err == EOPNOTSUPP)) continue;
    return ErrnoStatus(err, "set xattr " + x.name + " on " + dst);
  }
  return Status::Ok();
}

// Ownership first (chown clears setuid/setgid and security.capability), then xattrs, mode and
// finally times, which every other change would disturb.
Status ApplyMetadata(const std::string& dst, const struct stat& st,
                     const std::vector<Xattr>& xattrs, const CopyOptions& opts, bool existing) {
  bool is_link = S_ISLNK(st.st_mode);
  uid_t uid = opts.uid.value_or(st.st_uid);
  gid_t gid = opts.gid.value_or(st.st_gid);
  if (lchown(dst.c_str(), uid, gid) != 0) return ErrnoStatus(errno, "chown " + dst);
  KILN_RETURN_IF_ERROR(SetXattrs(dst, xattrs, is_link, existing));
  if (!is_link) {
    mode_t mode = opts.mode.value_or(st.st_mode) & 07777;
    if (fchmodat(AT_FDCWD, dst.c_str(), mode, 0) != 0) return ErrnoStatus(errno, "chmod " + dst);
  }
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (opts.timestamp_ns) {
    ts[0].tv_sec = static_cast<time_t>(*opts.timestamp_ns / 1000000000);
    ts[0].tv_nsec = static_cast<long>(*opts.timestamp_ns % 1000000000);
    if (ts[0].tv_nsec < 0) {
      ts[0].tv_sec -= 1;
      ts[0].tv_nsec += 1000000000;
    }
    ts[1] = ts[0];
  }
  if (utimensat(AT_FDCWD, dst.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "set times of " + dst);
  }
  return Status::Ok();
}

// Makes room for a new non-directory at dst.
Status ClearNonDir(const std::string& dst) {
  struct stat st;
  if (lstat(dst.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : ErrnoStatus(errno, "lstat " + dst);
  }
  if (S_ISDIR(st.st_mode)) return RemoveAll(dst);
  if (unlink(dst.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + dst);
  return Status::Ok();
}

Status CopyRegularContent(const Context& ctx, const std::string& src, const std::string& dst) {
  Fd in(open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0) return ErrnoStatus(errno, "open " + src);
  Fd out(open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (out.get() < 0) return ErrnoStatus(errno, "create " + dst);
  return CopyContent(ctx, in.get(), out.get(), src);
}

// One walk of CopyTree. Directories on the current path are kept on a stack so that a directory
// skipped by the filter is created only when something below it is copied.
class TreeCopier {
 public:
  TreeCopier(const Context& ctx, const CopyOptions& opts, std::string src_root)
      : ctx_(ctx), opts_(opts), src_root_(std::move(src_root)) {}

  Status CopyDir(const std::string& src, const std::string& dst, const std::string& rel,
                 const struct stat& st, bool include) {
    if (dst_root_made_ && st.st_dev == dst_root_.first && st.st_ino == dst_root_.second) {
      return InvalidArgument("cannot copy " + src_root_ + " into itself (at " + src + ")");
    }
    frames_.push_back(Frame{src, dst, rel, st});
    if (include) KILN_RETURN_IF_ERROR(MakePendingDirs());
    KILN_RETURN_IF_ERROR(CopyChildren(frames_.size() - 1));
    Frame f = std::move(frames_.back());
    frames_.pop_back();
    if (!f.made) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xattrs, ReadXattrs(f.src));
    return ApplyMetadata(f.dst, f.st, xattrs, opts_, f.existing);
  }

  Status CopyNonDir(const std::string& src, const std::string& dst, const struct stat& st) {
    if (S_ISSOCK(st.st_mode)) return Status::Ok();  // sockets cannot be copied
    KILN_RETURN_IF_ERROR(MakePendingDirs());
    // A directory this copy created holds nothing it did not put there.
    bool fresh_parent = !frames_.empty() && frames_.back().made && !frames_.back().existing;
    if (!fresh_parent) KILN_RETURN_IF_ERROR(ClearNonDir(dst));
    std::pair<dev_t, ino_t> key{st.st_dev, st.st_ino};
    if (st.st_nlink > 1) {
      auto it = links_.find(key);
      if (it != links_.end()) {
        if (link(it->second.c_str(), dst.c_str()) != 0) {
          return ErrnoStatus(errno, "hardlink " + dst + " to " + it->second);
        }
        return Status::Ok();
      }
    }
    if (S_ISREG(st.st_mode) && opts_.link_files && !opts_.uid && !opts_.gid && !opts_.mode &&
        !opts_.timestamp_ns) {
      if (link(src.c_str(), dst.c_str()) != 0)
        return ErrnoStatus(errno, "hardlink " + dst + " to " + src);
      return Status::Ok();
    }
    KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xattrs, ReadXattrs(src));
    if (S_ISREG(st.st_mode)) {
      KILN_RETURN_IF_ERROR(CopyRegularContent(ctx_, src, dst));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(errno, "readlink " + src);
      target.resize(static_cast<size_t>(n));
      if (symlink(target.c_str(), dst.c_str()) != 0) return ErrnoStatus(errno, "symlink " + dst);
    } else if (mknod(dst.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
      return ErrnoStatus(errno, "mknod " + dst);
    }
    if (st.st_nlink > 1) links_.emplace(key, dst);
    return ApplyMetadata(dst, st, xattrs, opts_, /*existing=*/false);
  }

 private:
  struct Frame {
    std::string src, dst, rel;
    struct stat st;
    bool made = false;
    bool existing = false;
  };

  Status CopyChildren(size_t frame) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(frames_[frame].src));
    for (const std::string& name : names) {
      KILN_RETURN_IF_ERROR(ctx_.Err());
      const Frame& f = frames_[frame];
      std::string src = f.src + "/" + name;
      std::string dst = f.dst + "/" + name;
      std::string rel = f.rel.empty() ? name : f.rel + "/" + name;
      struct stat st;
      if (lstat(src.c_str(), &st) != 0) return ErrnoStatus(errno, "lstat " + src);
      bool is_dir = S_ISDIR(st.st_mode);
      bool include = !opts_.filter || opts_.filter(rel, is_dir);
      if (is_dir) {
        if (include || (opts_.may_contain_matches && opts_.may_contain_matches(rel))) {
          KILN_RETURN_IF_ERROR(CopyDir(src, dst, rel, st, include));
        }
      } else if (include) {
        KILN_RETURN_IF_ERROR(CopyNonDir(src, dst, st));
      }
    }
    return Status::Ok();
  }

  // Creates the directories on the current path that do not exist in dst yet.
  Status MakePendingDirs() {
    for (size_t i = 0; i < frames_.size(); i++) {
      Frame& f = frames_[i];
      if (f.made) continue;
      struct stat cur;
      if (lstat(f.dst.c_str(), &cur) == 0 && S_ISDIR(cur.st_mode)) {
        f.existing = true;
      } else {
        KILN_RETURN_IF_ERROR(ClearNonDir(f.dst));
        if (mkdir(f.dst.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + f.dst);
        if (lstat(f.dst.c_str(), &cur) != 0) return ErrnoStatus(errno, "lstat " + f.dst);
      }
      // Owner write access while children are added; the real mode is applied at the end.
      if ((cur.st_mode & 0700) != 0700 && chmod(f.dst.c_str(), (cur.st_mode & 07777) | 0700) != 0) {
        return ErrnoStatus(errno, "chmod " + f.dst);
      }
      f.made = true;
      if (i == 0) {
        dst_root_ = {cur.st_dev, cur.st_ino};
        dst_root_made_ = true;
      }
    }
    return Status::Ok();
  }

  const Context& ctx_;
  const CopyOptions& opts_;
  std::string src_root_;
  std::vector<Frame> frames_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // (dev, ino) -> first dest path
  std::pair<dev_t, ino_t> dst_root_{};
  bool dst_root_made_ = false;
};

// One walk of LinkTree: directory fds for src and dst along the current path.
class TreeLinker {
 public:
  explicit TreeLinker(const Context& ctx) : ctx_(ctx) {}

  Status LinkDir(int src_fd, int dst_fd, const std::string& src, const std::string& dst,
                 int depth) {
    int list_fd = dup(src_fd);
    if (list_fd < 0) return ErrnoStatus(errno, "dup");
    DIR* d = fdopendir(list_fd);
    if (d == nullptr) {
      int err = errno;
      close(list_fd);
      return ErrnoStatus(err, "read directory " + src);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> dir(d, closedir);
    std::vector<std::pair<std::string, unsigned char>> entries;
    errno = 0;
    while (dirent* e = readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") entries.emplace_back(std::string(n), e->d_type);
    }
    if (errno != 0) return ErrnoStatus(errno, "read directory " + src);
    dir.reset();
    for (auto& [name, type] : entries) {
      if (++entries_ % 256 == 0) KILN_RETURN_IF_ERROR(ctx_.Err());
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(src_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
          return ErrnoStatus(errno, "lstat " + src + "/" + name);
        }
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_LNK;
      }
      const std::string s = src + "/" + name;
      const std::string t = dst + "/" + name;
      if (type == DT_REG) {
        if (linkat(src_fd, name.c_str(), dst_fd, name.c_str(), 0) != 0) {
          return ErrnoStatus(errno, "hardlink " + t + " to " + s);
        }
      } else if (type == DT_DIR && depth < kMaxFdDepth) {
        if (mkdirat(dst_fd, name.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + t);
        Fd sub_src(openat(src_fd, name.c_str(), kDirFlags));
        if (sub_src.get() < 0) return ErrnoStatus(errno, "open " + s);
        Fd sub_dst(openat(dst_fd, name.c_str(), kDirFlags));
        if (sub_dst.get() < 0) return ErrnoStatus(errno, "open " + t);
        KILN_RETURN_IF_ERROR(LinkDir(sub_src.get(), sub_dst.get(), s, t, depth + 1));
        KILN_RETURN_IF_ERROR(CopyMetadata(sub_src.get(), s, t, /*existing=*/false));
      } else {
        // Symlinks, devices, FIFOs, sockets; and directories past the fd depth limit.
        CopyOptions opts;
        opts.link_files = true;
        KILN_RETURN_IF_ERROR(CopyTree(ctx_, s, t, opts));
      }
    }
    return Status::Ok();
  }

  // Applies the source directory's metadata (open as fd) to dst, after its children.
  Status CopyMetadata(int src_fd, const std::string& src, const std::string& dst, bool existing) {
    struct stat st;
    if (fstat(src_fd, &st) != 0) return ErrnoStatus(errno, "stat " + src);
    KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xattrs, ReadXattrs(src));
    return ApplyMetadata(dst, st, xattrs, CopyOptions{}, existing);
  }

 private:
  static constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  static constexpr int kMaxFdDepth = 128;  // deeper directories are copied by path

  const Context& ctx_;
  uint64_t entries_ = 0;
};

}  // namespace

Status LinkTree(const Context& ctx, const std::string& src, const std::string& dst) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  Fd src_fd(open(src.c_str(), kFlags));
  if (src_fd.get() < 0) return ErrnoStatus(errno, "link tree: open " + src);
  bool existing = true;
  if (mkdir(dst.c_str(), 0700) == 0) {
    existing = false;
  } else if (errno != EEXIST) {
    return ErrnoStatus(errno, "link tree: mkdir " + dst);
  }
  Fd dst_fd(open(dst.c_str(), kFlags));
  if (dst_fd.get() < 0) return ErrnoStatus(errno, "link tree: open " + dst);
  struct stat s_st, d_st;
  if (fstat(src_fd.get(), &s_st) != 0) return ErrnoStatus(errno, "link tree: stat " + src);
  if (fstat(dst_fd.get(), &d_st) != 0) return ErrnoStatus(errno, "link tree: stat " + dst);
  if (s_st.st_dev == d_st.st_dev && s_st.st_ino == d_st.st_ino) {
    return InvalidArgument("link tree: " + src + " and " + dst + " are the same directory");
  }
  if ((d_st.st_mode & 0700) != 0700 && fchmod(dst_fd.get(), 0700) != 0) {
    return ErrnoStatus(errno, "link tree: chmod " + dst);
  }
  TreeLinker linker(ctx);
  KILN_RETURN_IF_ERROR(linker.LinkDir(src_fd.get(), dst_fd.get(), src, dst, 0));
  return linker.CopyMetadata(src_fd.get(), src, dst, existing);
}

Status CopyTree(const Context& ctx, const std::string& src, const std::string& dst,
                const CopyOptions& opts) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) return ErrnoStatus(errno, "copy: lstat " + src);
  struct stat dst_st;
  if (lstat(dst.c_str(), &dst_st) == 0 && dst_st.st_dev == st.st_dev &&
      dst_st.st_ino == st.st_ino) {
    return InvalidArgument("copy: " + src + " and " + dst + " are the same file");
  }
  TreeCopier copier(ctx, opts, src);
  if (S_ISDIR(st.st_mode)) return copier.CopyDir(src, dst, "", st, /*include=*/true);
  return copier.CopyNonDir(src, dst, st);
}

Status CopyFile(const Context& ctx, const std::string& src, const std::string& dst,
                const CopyOptions& opts) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) return ErrnoStatus(errno, "copy: lstat " + src);
  if (!S_ISREG(st.st_mode)) return InvalidArgument("copy: " + src + " is not a regular file");
  KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xattrs, ReadXattrs(src));
  KILN_RETURN_IF_ERROR(ClearNonDir(dst));
  KILN_RETURN_IF_ERROR(CopyRegularContent(ctx, src, dst));
  return ApplyMetadata(dst, st, xattrs, opts, /*existing=*/false);
}

Status RemoveAll(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : ErrnoStatus(errno, "remove: lstat " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
    return Status::Ok();
  }
  if ((st.st_mode & 0700) != 0700 && chmod(path.c_str(), (st.st_mode & 07777) | 0700) != 0) {
    return ErrnoStatus(errno, "remove: chmod " + path);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(path));
  for (const std::string& name : names) KILN_RETURN_IF_ERROR(RemoveAll(path + "/" + name));
  if (rmdir(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
  return Status::Ok();
}

Result<std::vector<Xattr>> ReadXattrs(const std::string& path) {
  std::string names;
  for (;;) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0 && errno == EOPNOTSUPP) return std::vector<Xattr>{};
    if (n < 0) return ErrnoStatus(errno, "list xattrs of " + path);
    names.resize(static_cast<size_t>(n));
    if (n == 0) break;
    n = llistxattr(path.c_str(), names.data(), names.size());
    if (n < 0 && errno == ERANGE) continue;  // grew in between
    if (n < 0) return ErrnoStatus(errno, "list xattrs of " + path);
    names.resize(static_cast<size_t>(n));
    break;
  }
  std::vector<Xattr> out;
  for (size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.empty()) continue;
    std::string value;
    ssize_t n;
    for (;;) {
      n = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (n < 0) break;
      value.resize(static_cast<size_t>(n));
      n = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n < 0 && errno == ERANGE) continue;
      break;
    }
    if (n < 0 && errno == ENODATA) continue;  // removed in between
    if (n < 0) return ErrnoStatus(errno, "get xattr " + name + " of " + path);
    value.resize(static_cast<size_t>(n));
    out.push_back(Xattr{std::move(name), std::move(value)});
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> ReadDirNames(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "open directory " + dir);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* e = readdir(d);
    if (e == nullptr) break;
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  int err = errno;
  closedir(d);
  if (err != 0) return ErrnoStatus(err, "read directory " + dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace kiln
