#include "snapshot/apply_lower.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "snapshot/entry_writer.h"
#include "util/fs_copy.h"

namespace kiln::snapshot {
namespace {

bool IsOverlayXattr(const std::string& name) {
  return name.compare(0, kOverlayXattrPrefix.size(), kOverlayXattrPrefix) == 0;
}

}  // namespace

Result<std::optional<LowerEntry>> FindInLowers(const std::vector<TreeRoot>& lowers,
                                               const std::string& dir, const std::string& base,
                                               bool want_dir) {
  for (const TreeRoot& lower : lowers) {
    auto ld = lower.OpenDir(dir, false);
    if (!ld.ok()) {
      if (ld.status().code() == Code::kNotFound) continue;
      if (ld.status().code() == Code::kFailedPrecondition) break;  // a file on the way
      return ld.status();
    }
    LowerEntry found{std::move(*ld), {}};
    if (fstatat(found.dir.fd.get(), base.c_str(), &found.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus(errno, "lstat lower " + dir + "/" + base);
    }
    bool whiteout = S_ISCHR(found.st.st_mode) && found.st.st_rdev == makedev(0, 0);
    if (whiteout || S_ISDIR(found.st.st_mode) != want_dir) break;
    return std::optional<LowerEntry>(std::move(found));
  }
  return std::optional<LowerEntry>();
}

Status CopyOwnerAndXattrs(const LowerEntry& from, const std::string& base, int dir_fd,
                          const std::string& name) {
  if (fchownat(dir_fd, name.c_str(), from.st.st_uid, from.st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "chown");
  }
  KILN_ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(ProcPath(from.dir.fd.get(), base)));
  for (const Xattr& x : xattrs) {
    if (IsOverlayXattr(x.name)) continue;
    KILN_RETURN_IF_ERROR(SetXattrAt(dir_fd, name, x.name, x.value, /*skip_unsupported=*/true));
  }
  return Status::Ok();
}

Status CopyUp(const Context& ctx, const LowerEntry& from, const std::string& base, int dir_fd,
              const std::string& name) {
  std::string copy = ProcPath(dir_fd, name);
  KILN_RETURN_IF_ERROR(CopyTree(ctx, ProcPath(from.dir.fd.get(), base), copy, CopyOptions{}));
  KILN_ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(copy));
  for (const Xattr& x : xattrs) {
    if (IsOverlayXattr(x.name) && lremovexattr(copy.c_str(), x.name.c_str()) != 0) {
      return ErrnoStatus(errno, "remove xattr " + x.name);
    }
  }
  return Status::Ok();
}

}  // namespace kiln::snapshot
