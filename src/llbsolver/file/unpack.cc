#include "llbsolver/file/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "llbsolver/file/fs_ops.h"
#include "util/fs_copy.h"
#include "util/path.h"

namespace kiln::llbsolver::file {
namespace {

// A libarchive reader for tar, plain or compressed with what moby's DecompressStream knows.
// Owns the archive handle; not copyable (the handle would be freed twice).
class TarReader {
 public:
  TarReader() : a_(archive_read_new()) {
    archive_read_support_filter_gzip(a_);
    archive_read_support_filter_bzip2(a_);
    archive_read_support_filter_xz(a_);
    archive_read_support_filter_zstd(a_);
    archive_read_support_format_tar(a_);
  }
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;
  ~TarReader() { archive_read_free(a_); }

  // Opens the regular file at path (not following a symlink there); the fd is owned by fd_.
  Status Open(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return PathError(errno, "open", path);
    fd_ = std::make_unique<Fd>(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) return PathError(errno, "stat", path);
    if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
    if (archive_read_open_fd(a_, fd, 64 << 10) < ARCHIVE_WARN) return Error(path);
    return Status::Ok();
  }

  Status Error(const std::string& path) const {
    const char* msg = archive_error_string(a_);
    return DataLoss("failed to read archive " + path + ": " + (msg ? msg : "unknown error"));
  }

  struct archive* get() const {
    return a_;
  }

 private:
  struct archive* a_;
  std::unique_ptr<Fd> fd_;
};

struct DirTimes {
  std::string path;
  struct timespec times[2];
};

// Rejects names that climb out of the destination (go-archive's breakout check) and sets *out
// to the cleaned absolute name inside it. (An out-parameter: gcc 12 sees a false
// maybe-uninitialized in a Result<std::string> here.)
Status EntryPath(const char* name, std::string* out) {
  if (name == nullptr) return InvalidArgument("archive entry without a name");
  std::string clean = CleanPath(name);
  if (clean == ".." || clean.rfind("../", 0) == 0) {
    return InvalidArgument("archive entry \"" + std::string(name) +
                           "\" is outside of the destination");
  }
  *out = CleanPath("/" + clean);
  return Status::Ok();
}

Status WriteData(const Context& ctx, struct archive* a, const std::string& path, int64_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return PathError(errno, "create", path);
  Fd closer(fd);
  for (;;) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    const void* buf = nullptr;
    size_t n = 0;
    la_int64_t off = 0;
    int rc = archive_read_data_block(a, &buf, &n, &off);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      const char* msg = archive_error_string(a);
      return DataLoss("read " + path + " from archive: " + (msg ? msg : "unknown error"));
    }
    const char* p = static_cast<const char*>(buf);
    while (n > 0) {
      ssize_t w = pwrite(fd, p, n, static_cast<off_t>(off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return PathError(errno, "write", path);
      p += w;
      off += w;
      n -= static_cast<size_t>(w);
    }
  }
  // Sparse archives may end in a hole.
  if (size >= 0 && ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return PathError(errno, "truncate", path);
  }
  return Status::Ok();
}

// Ownership, xattrs (best effort), mode and times of a freshly extracted entry. Directory times
// are left to the end, when nothing more is written into them.
Status ApplyMetadata(struct archive_entry* e, const std::string& path,
                     const std::optional<Owner>& owner, std::vector<DirTimes>* dirs) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return PathError(errno, "lstat", path);
  auto uid = static_cast<uid_t>(owner ? owner->uid : archive_entry_uid(e));
  auto gid = static_cast<gid_t>(owner ? owner->gid : archive_entry_gid(e));
  if ((st.st_uid != uid || st.st_gid != gid) && lchown(path.c_str(), uid, gid) != 0) {
    return PathError(errno, "lchown", path);
  }
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    lsetxattr(path.c_str(), name, value, size, 0);  // best effort, as BuildKit
  }
  bool is_link = S_ISLNK(st.st_mode);
  if (!is_link && chmod(path.c_str(), archive_entry_perm(e) & 07777) != 0) {
    return PathError(errno, "chmod", path);
  }
  struct timespec mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  struct timespec atime = mtime;
  if (archive_entry_atime_is_set(e)) {
    atime = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
    // go-archive uses the later of the two as access time.
    if (atime.tv_sec < mtime.tv_sec ||
        (atime.tv_sec == mtime.tv_sec && atime.tv_nsec < mtime.tv_nsec)) {
      atime = mtime;
    }
  }
  if (S_ISDIR(st.st_mode)) {
    dirs->push_back(DirTimes{path, {atime, mtime}});
    return Status::Ok();
  }
  struct timespec ts[2] = {atime, mtime};
  if (utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return PathError(errno, "utime", path);
  }
  return Status::Ok();
}

Status ExtractEntry(const Context& ctx, struct archive* a, struct archive_entry* e,
                    const std::string& dest, const std::optional<Owner>& owner,
                    std::vector<DirTimes>* dirs) {
  std::string rel;
  KILN_RETURN_IF_ERROR(EntryPath(archive_entry_pathname(e), &rel));
  if (rel == "/") return Status::Ok();  // "./": the destination keeps its own metadata
  // The parent is resolved as in a chroot at dest, so no symlink leads out of it.
  KILN_ASSIGN_OR_RETURN(std::string parent, ResolveInRoot(dest, Dir(rel), true));
  auto made = MkdirAll(dest, parent, 0755, std::nullopt, std::nullopt);
  KILN_RETURN_IF_ERROR(made.status());
  std::string path = parent + "/" + std::string(Base(rel));
  const mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);
  struct stat cur;
  bool exists = lstat(path.c_str(), &cur) == 0;
  if (exists && !(S_ISDIR(cur.st_mode) && type == AE_IFDIR && hardlink == nullptr)) {
    KILN_RETURN_IF_ERROR(RemoveAll(path));
    exists = false;
  }
  if (hardlink != nullptr) {  // the target already has its metadata
    std::string target_rel;
    KILN_RETURN_IF_ERROR(EntryPath(hardlink, &target_rel));
    KILN_ASSIGN_OR_RETURN(std::string target, ResolveInRoot(dest, target_rel, false));
    if (link(target.c_str(), path.c_str()) != 0) return PathError(errno, "link", path);
    return Status::Ok();
  }
  switch (type) {
    case AE_IFDIR:
      if (!exists && mkdir(path.c_str(), 0700) != 0) return PathError(errno, "mkdir", path);
      break;
    case AE_IFREG:
      KILN_RETURN_IF_ERROR(
          WriteData(ctx, a, path, archive_entry_size_is_set(e) ? archive_entry_size(e) : -1));
      break;
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (symlink(target ? target : "", path.c_str()) != 0) {
        return PathError(errno, "symlink", path);
      }
      break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      if (mknod(path.c_str(), type | 0600, archive_entry_rdev(e)) != 0) {
        return PathError(errno, "mknod", path);
      }
      break;
    default:
      return InvalidArgument("unhandled tar entry type " + std::to_string(type) + " for " +
                             archive_entry_pathname(e));
  }
  return ApplyMetadata(e, path, owner, dirs);
}

}  // namespace

bool IsTarArchive(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  TarReader r;
  if (!r.Open(path).ok()) return false;
  struct archive_entry* e = nullptr;
  int rc = archive_read_next_header(r.get(), &e);
  return rc == ARCHIVE_OK || rc == ARCHIVE_WARN;
}

Status Untar(const Context& ctx, const std::string& archive, const std::string& dest_dir,
             const std::optional<Owner>& owner) {
  TarReader r;
  KILN_RETURN_IF_ERROR(r.Open(archive));
  std::vector<DirTimes> dirs;
  for (;;) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(r.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return r.Error(archive);
    Status s = ExtractEntry(ctx, r.get(), e, dest_dir, owner, &dirs);
    if (!s.ok()) return s.Annotate("failed to unpack " + archive);
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    // A later entry may have replaced the directory; then its times are gone with it.
    if (utimensat(AT_FDCWD, it->path.c_str(), it->times, AT_SYMLINK_NOFOLLOW) != 0 &&
        errno != ENOENT && errno != ENOTDIR) {
      return PathError(errno, "utime", it->path);
    }
  }
  return Status::Ok();
}

}  // namespace kiln::llbsolver::file
