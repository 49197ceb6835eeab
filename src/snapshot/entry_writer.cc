#include "snapshot/entry_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "snapshot/in_root.h"

namespace kiln::snapshot {

void EntryTimes(const LayerEntry& e, struct timespec ts[2]) {
  ts[1].tv_sec = static_cast<time_t>(e.mtime_sec);
  ts[1].tv_nsec = static_cast<long>(e.mtime_nsec);  // NOLINT(runtime/int)
  if (e.has_atime) {
    ts[0].tv_sec = static_cast<time_t>(e.atime_sec);
    ts[0].tv_nsec = static_cast<long>(e.atime_nsec);  // NOLINT(runtime/int)
  } else {
    ts[0] = ts[1];
  }
}

Status WriteFileContent(const Context& ctx, LayerReader& reader, int dir_fd,
                        const std::string& name, int64_t size, int64_t* written) {
  int raw =
      openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return ErrnoStatus(errno, "create");
  Fd fd(raw);
  for (;;) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    const void* data = nullptr;
    size_t n = 0;
    int64_t off = 0;
    KILN_RETURN_IF_ERROR(reader.ReadData(&data, &n, &off));
    if (n == 0) break;
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = pwrite(fd.get(), p, n, static_cast<off_t>(off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoStatus(errno, "write");
      p += w;
      off += w;
      n -= static_cast<size_t>(w);
      *written += w;
    }
  }
  // A sparse file may end in a hole.
  if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return ErrnoStatus(errno, "truncate");
  return Status::Ok();
}

Status MakeNode(int dir_fd, const std::string& name, const LayerEntry& e) {
  switch (e.type) {
    case S_IFDIR: {
      struct stat st;
      if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        return Status::Ok();  // a directory over a directory merges
      }
      // 0700 until the deferred mode: the directory stays writable while its entries arrive.
      if (mkdirat(dir_fd, name.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir");
      return Status::Ok();
    }
    case S_IFLNK:
      if (symlinkat(e.symlink.c_str(), dir_fd, name.c_str()) != 0) {
        return ErrnoStatus(errno, "symlink");
      }
      return Status::Ok();
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      if (mknodat(dir_fd, name.c_str(), e.type | 0600, static_cast<dev_t>(e.rdev)) != 0) {
        return ErrnoStatus(errno, "mknod");
      }
      return Status::Ok();
    default:
      return InvalidArgument("unsupported entry type 0" + std::to_string(e.type >> 12));
  }
}

Status SetXattrAt(int dir_fd, const std::string& name, const std::string& key,
                  const std::string& value, bool skip_unsupported) {
  // No *xattrat before Linux 6.13: go through the open directory in /proc.
  // For dir_fd itself the /proc link must be followed; below it, `name` must not be.
  std::string path = ProcPath(dir_fd, name);
  int rc = name.empty() ? setxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0)
                        : lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0);
  if (rc == 0) return Status::Ok();
  int err = errno;
  if (skip_unsupported) {
    if (err == ENOTSUP || err == EOPNOTSUPP) return Status::Ok();
    struct stat st;
    if (err == EPERM && key.rfind("user.", 0) == 0 &&
        fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      return Status::Ok();
    }
  }
  return ErrnoStatus(err, "set xattr " + key);
}

Status SetOwnerAndXattrs(int dir_fd, const std::string& name, const LayerEntry& e) {
  if (fchownat(dir_fd, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "chown " + std::to_string(e.uid) + ":" + std::to_string(e.gid));
  }
  for (const Xattr& x : e.xattrs) {
    if (std::string_view(x.name).substr(0, kOverlayXattrPrefix.size()) == kOverlayXattrPrefix) {
      continue;
    }
    KILN_RETURN_IF_ERROR(SetXattrAt(dir_fd, name, x.name, x.value, /*skip_unsupported=*/true));
  }
  return Status::Ok();
}

Status SetModeAndTimes(int dir_fd, const std::string& name, bool is_symlink, uint32_t perm,
                       const struct timespec ts[2]) {
  // fchmodat follows a symlink at `name`; the caller made `name` itself and it is not one.
  if (!is_symlink && fchmodat(dir_fd, name.c_str(), perm, 0) != 0) {
    return ErrnoStatus(errno, "chmod");
  }
  if (utimensat(dir_fd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "set times");
  }
  return Status::Ok();
}

}  // namespace kiln::snapshot
