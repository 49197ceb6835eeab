// The double-walking differ (containerd's fs.Changes): both trees are read directory by
// directory, their sorted names merged; names only in the lower tree are deletions, names only
// in the upper tree additions (with everything below them), names in both are compared.

#include <sys/stat.h>

#include <string>
#include <vector>

#include "layer/change_writer.h"
#include "layer/layer_diff.h"
#include "util/fs_copy.h"

namespace kiln::layer {
namespace {

using internal::ChangeKind;

std::string Join(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

class TreeDiffer {
 public:
  TreeDiffer(const Context& ctx, const DiffOptions& opts, const std::string& lower,
             const std::string& upper, internal::ChangeWriter* cw)
      : ctx_(ctx), opts_(opts), lower_(lower), upper_(upper), cw_(cw) {}

  // rel is a directory in upper and, when in_lower, in lower.
  Status DiffDir(const std::string& rel, bool in_lower) {
    KILN_RETURN_IF_ERROR(ctx_.Err());
    std::vector<std::string> lnames;
    if (in_lower) {
      KILN_ASSIGN_OR_RETURN(lnames, ReadDirNames(Path(lower_, rel)));
    }
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> unames, ReadDirNames(Path(upper_, rel)));
    size_t i = 0, j = 0;
    while (i < lnames.size() || j < unames.size()) {
      if (j == unames.size() || (i < lnames.size() && lnames[i] < unames[j])) {
        KILN_RETURN_IF_ERROR(cw_->Delete(Join(rel, lnames[i++])));
        continue;
      }
      const std::string& name = unames[j++];
      bool both = i < lnames.size() && lnames[i] == name;
      if (both) i++;
      KILN_RETURN_IF_ERROR(Entry(Join(rel, name), both));
    }
    return Status::Ok();
  }

 private:
  static std::string Path(const std::string& root, const std::string& rel) {
    return rel.empty() ? root : root + "/" + rel;
  }

  Status Entry(const std::string& rel, bool in_lower) {
    std::string up = Path(upper_, rel);
    struct stat su;
    if (lstat(up.c_str(), &su) != 0) return ErrnoStatus(errno, "lstat " + up);
    if (S_ISSOCK(su.st_mode)) return Status::Ok();
    if (!in_lower) {
      KILN_RETURN_IF_ERROR(cw_->Change(ChangeKind::kAdd, rel, su));
      return S_ISDIR(su.st_mode) ? DiffDir(rel, false) : Status::Ok();
    }
    std::string low = Path(lower_, rel);
    struct stat sl;
    if (lstat(low.c_str(), &sl) != 0) return ErrnoStatus(errno, "lstat " + low);
    KILN_ASSIGN_OR_RETURN(bool same, internal::SameEntry(ctx_, opts_, low, sl, up, su));
    KILN_RETURN_IF_ERROR(
        cw_->Change(same ? ChangeKind::kUnmodified : ChangeKind::kModify, rel, su));
    if (!S_ISDIR(su.st_mode)) return Status::Ok();
    return DiffDir(rel, S_ISDIR(sl.st_mode));
  }

  const Context& ctx_;
  const DiffOptions& opts_;
  const std::string& lower_;
  const std::string& upper_;
  internal::ChangeWriter* cw_;
};

}  // namespace

Result<DiffStats> WriteTreeDiff(const Context& ctx, const std::string& lower,
                                const std::string& upper, const DiffOptions& opts,
                                const ByteSink& sink) {
  for (const std::string* root : {&lower, &upper}) {
    if (root->empty()) continue;
    struct stat st;
    if (lstat(root->c_str(), &st) != 0) return ErrnoStatus(errno, "diff: lstat " + *root);
    if (!S_ISDIR(st.st_mode)) return InvalidArgument("diff: " + *root + " is not a directory");
  }
  if (upper.empty()) return InvalidArgument("diff: no upper tree");
  internal::ChangeWriter cw(ctx, opts, upper, sink);
  TreeDiffer d(ctx, opts, lower, upper, &cw);
  KILN_RETURN_IF_ERROR(d.DiffDir("", !lower.empty()));
  return cw.Close();
}

}  // namespace kiln::layer
