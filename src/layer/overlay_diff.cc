// The overlayfs differ (BuildKit's util/overlay): walks only the snapshot's own upper dir, which
// holds exactly what changed, and looks at the parent's merged tree (base) for what the upper
// entries replace. Below a directory that base lacks, or that is opaque, nothing of base shows:
// everything there is added and whiteouts there hide nothing.

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>
#include <vector>

#include "layer/change_writer.h"
#include "layer/layer_diff.h"
#include "util/fs_copy.h"

namespace kiln::layer {
namespace {

using internal::ChangeKind;

bool HasXattr(const std::vector<Xattr>& xs, std::string_view name) {
  for (const Xattr& x : xs) {
    if (x.name == name) return true;
  }
  return false;
}

bool IsOpaque(const std::vector<Xattr>& xs) {
  for (const Xattr& x : xs) {
    if ((x.name == "trusted.overlay.opaque" || x.name == "user.overlay.opaque") && x.value == "y") {
      return true;
    }
  }
  return false;
}

class OverlayDiffer {
 public:
  OverlayDiffer(const Context& ctx, const DiffOptions& opts, const std::string& upper,
                const std::string& base, internal::ChangeWriter* cw)
      : ctx_(ctx), opts_(opts), upper_(upper), base_(base), cw_(cw) {}

  // rel is a directory of the upper dir; base_visible: whether base's entries below it show.
  Status WalkDir(const std::string& rel, bool base_visible) {
    KILN_RETURN_IF_ERROR(ctx_.Err());
    std::string dir = rel.empty() ? upper_ : upper_ + "/" + rel;
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir));
    for (const std::string& name : names) {
      KILN_RETURN_IF_ERROR(Entry(rel.empty() ? name : rel + "/" + name, base_visible));
    }
    return Status::Ok();
  }

 private:
  Status Entry(const std::string& rel, bool base_visible) {
    std::string up = upper_ + "/" + rel;
    struct stat su;
    if (lstat(up.c_str(), &su) != 0) return ErrnoStatus(errno, "lstat " + up);
    if (S_ISSOCK(su.st_mode)) return Status::Ok();
    // Only where base shows can an entry replace (or a whiteout hide) one of base's.
    struct stat sb;
    bool in_base = false;
    std::string bp = base_.empty() ? "" : base_ + "/" + rel;
    if (base_visible && !base_.empty()) {
      if (lstat(bp.c_str(), &sb) == 0) {
        in_base = true;
      } else if (errno != ENOENT && errno != ENOTDIR) {
        return ErrnoStatus(errno, "lstat " + bp);
      }
    }
    if (S_ISCHR(su.st_mode) && su.st_rdev == makedev(0, 0)) {  // overlay's whiteout
      return in_base ? cw_->Delete(rel) : Status::Ok();
    }
    KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xattrs, ReadXattrs(up));
    if (S_ISDIR(su.st_mode) && HasXattr(xattrs, "trusted.overlay.redirect")) {
      return FailedPrecondition("overlay diff: directory " + rel +
                                " was renamed with redirect_dir, which the differ cannot follow");
    }
    if (S_ISREG(su.st_mode) && HasXattr(xattrs, "trusted.overlay.metacopy")) {
      return FailedPrecondition("overlay diff: " + rel +
                                " is a metacopy file (its data lives in a lower dir)");
    }
    if (!in_base) {
      KILN_RETURN_IF_ERROR(cw_->Change(ChangeKind::kAdd, rel, su));
      return S_ISDIR(su.st_mode) ? WalkDir(rel, false) : Status::Ok();
    }
    KILN_ASSIGN_OR_RETURN(bool same, internal::SameEntry(ctx_, opts_, bp, sb, up, su));
    KILN_RETURN_IF_ERROR(
        cw_->Change(same ? ChangeKind::kUnmodified : ChangeKind::kModify, rel, su));
    if (!S_ISDIR(su.st_mode)) return Status::Ok();
    if (IsOpaque(xattrs)) {
      KILN_RETURN_IF_ERROR(cw_->Opaque(rel));
      return WalkDir(rel, false);
    }
    return WalkDir(rel, S_ISDIR(sb.st_mode));
  }

  const Context& ctx_;
  const DiffOptions& opts_;
  const std::string& upper_;
  const std::string& base_;
  internal::ChangeWriter* cw_;
};

}  // namespace

Result<DiffStats> WriteOverlayDiff(const Context& ctx, const std::string& upperdir,
                                   const std::string& base, const DiffOptions& opts,
                                   const ByteSink& sink) {
  struct stat st;
  if (lstat(upperdir.c_str(), &st) != 0) return ErrnoStatus(errno, "diff: lstat " + upperdir);
  if (!S_ISDIR(st.st_mode)) return InvalidArgument("diff: " + upperdir + " is not a directory");
  internal::ChangeWriter cw(ctx, opts, upperdir, sink);
  OverlayDiffer d(ctx, opts, upperdir, base, &cw);
  KILN_RETURN_IF_ERROR(d.WalkDir("", !base.empty()));
  KILN_ASSIGN_OR_RETURN(DiffStats stats, cw.Close());
  stats.overlay = true;
  return stats;
}

}  // namespace kiln::layer
