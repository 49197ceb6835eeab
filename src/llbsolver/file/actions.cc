// Mkdir, Mkfile, Rm and Symlink (Copy lives in copy.cc).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "llbsolver/file/backend.h"
#include "llbsolver/file/fs_ops.h"
#include "llbsolver/file/wildcard.h"
#include "util/fs_copy.h"
#include "util/path.h"

namespace kiln::llbsolver::file {
namespace {

// The host path of an action path, every symlink on it (the last one too) resolved inside root.
Result<std::string> Resolve(const std::string& root, const std::string& p) {
  return ResolveInRoot(root, CleanPath("/" + p), /*follow_last=*/true);
}

Status DoMkdir(const std::string& root, const pb::FileActionMkDir& action,
               const std::optional<Owner>& owner) {
  KILN_ASSIGN_OR_RETURN(std::string p, Resolve(root, action.path()));
  const auto mode = static_cast<mode_t>(action.mode()) & 0777;
  const std::optional<int64_t> ts = TimestampOf(action.timestamp());
  if (action.makeparents()) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> created, MkdirAll(root, p, mode, owner, ts));
    // Each mkdir bumps its parent's mtime; BuildKit leaves that, kiln re-stamps (reproducible).
    return FixCreatedDirTimes(created, ts);
  }
  if (mkdir(p.c_str(), mode) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return PathError(errno, "mkdir", p);
  }
  if (chmod(p.c_str(), mode) != 0) return PathError(errno, "chmod", p);
  KILN_RETURN_IF_ERROR(Chown(p, owner));
  return SetTimes(p, ts);
}

Status DoMkfile(const Context& ctx, const std::string& root, const pb::FileActionMkFile& action,
                const std::optional<Owner>& owner) {
  KILN_ASSIGN_OR_RETURN(std::string p, Resolve(root, action.path()));
  const auto mode = static_cast<mode_t>(action.mode()) & 0777;
  // O_NOFOLLOW: p has no symlinks left, and one appearing now must not be followed.
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  bool created = fd >= 0;
  if (fd < 0 && errno == EEXIST) {
    // Only a regular file is overwritten: a device node or FIFO in the snapshot must never
    // be opened for writing (BuildKit would write into the host device).
    struct stat st;
    if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return PathError(EISDIR, "open", p);
    if (lstat(p.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return InvalidArgument("open " + p + ": not a regular file");
    }
    fd = open(p.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  }
  if (fd < 0) return PathError(errno, "open", p);
  Fd closer(fd);
  if (created && fchmod(fd, mode) != 0) return PathError(errno, "chmod", p);
  const std::string& data = action.data();
  for (size_t off = 0; off < data.size();) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    ssize_t n = write(fd, data.data() + off, std::min<size_t>(data.size() - off, 1u << 20));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError(errno, "write", p);
    off += static_cast<size_t>(n);
  }
  KILN_RETURN_IF_ERROR(Chown(p, owner));
  return SetTimes(p, TimestampOf(action.timestamp()));
}

// Removes one path; a final symlink is removed itself, but it must point somewhere (as
// BuildKit's os.Stat check) unless allow_not_found.
Status RmPath(const std::string& root, const std::string& path, bool allow_not_found) {
  std::string clean = CleanPath("/" + path);
  if (clean == "/") return InvalidArgument("rm /: cannot remove the root directory");
  KILN_ASSIGN_OR_RETURN(std::string dir, ResolveInRoot(root, Dir(clean), true));
  std::string p = dir + "/" + std::string(Base(clean));
  struct stat st;
  if (!allow_not_found) {
    KILN_ASSIGN_OR_RETURN(std::string target, ResolveInRoot(root, clean, true));
    if (lstat(target.c_str(), &st) != 0) return PathError(errno, "stat", p);
  }
  if (lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return PathError(errno, "lstat", p);
  }
  return RemoveAll(p);
}

Status DoRm(const Context& ctx, const std::string& root, const pb::FileActionRm& action) {
  if (!action.allowwildcard()) return RmPath(root, action.path(), action.allownotfound());
  Result<std::vector<std::string>> matches =
      ResolveWildcards(ctx, root, CleanPath("/" + action.path()), false);
  // A missing directory before the wildcard is "not found" too (BuildKit fails here even with
  // allowNotFound).
  if (!matches.ok() && matches.status().code() == Code::kNotFound && action.allownotfound()) {
    return Status::Ok();
  }
  KILN_RETURN_IF_ERROR(matches);
  for (const std::string& m : *matches) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    KILN_RETURN_IF_ERROR(RmPath(root, m, action.allownotfound()));
  }
  return Status::Ok();
}

Status DoSymlink(const std::string& root, const pb::FileActionSymlink& action,
                 const std::optional<Owner>& owner) {
  KILN_ASSIGN_OR_RETURN(std::string p, Resolve(root, action.newpath()));
  if (symlink(action.oldpath().c_str(), p.c_str()) != 0) {
    return PathError(errno, "symlink " + action.oldpath(), p);
  }
  KILN_RETURN_IF_ERROR(Chown(p, owner));
  return SetTimes(p, TimestampOf(action.timestamp()));
}

}  // namespace

Status Mkdir(const Context& ctx, const std::string& root, const pb::FileActionMkDir& action,
             const UserResolver& users) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  KILN_RETURN_IF_ERROR(CheckRoot(root));
  KILN_ASSIGN_OR_RETURN(std::optional<Owner> owner, users.Resolve(OwnerOf(action)));
  return Scrub(DoMkdir(NormalizeRoot(root), action, owner), {root});
}

Status Mkfile(const Context& ctx, const std::string& root, const pb::FileActionMkFile& action,
              const UserResolver& users) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  KILN_RETURN_IF_ERROR(CheckRoot(root));
  KILN_ASSIGN_OR_RETURN(std::optional<Owner> owner, users.Resolve(OwnerOf(action)));
  return Scrub(DoMkfile(ctx, NormalizeRoot(root), action, owner), {root});
}

Status Rm(const Context& ctx, const std::string& root, const pb::FileActionRm& action) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  KILN_RETURN_IF_ERROR(CheckRoot(root));
  return Scrub(DoRm(ctx, NormalizeRoot(root), action), {root});
}

Status Symlink(const Context& ctx, const std::string& root, const pb::FileActionSymlink& action,
               const UserResolver& users) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  KILN_RETURN_IF_ERROR(CheckRoot(root));
  KILN_ASSIGN_OR_RETURN(std::optional<Owner> owner, users.Resolve(OwnerOf(action)));
  return Scrub(DoSymlink(NormalizeRoot(root), action, owner), {root});
}

}  // namespace kiln::llbsolver::file
