#include "layer/layer_diff.h"

#include <algorithm>
#include <memory>

namespace kiln::layer {
namespace {

// Whether key's own upper dir holds exactly its changes against `parent`: parent is its direct
// parent (the same lower dirs, parent's upper on top), or both have none.
bool IsDirectParent(snapshot::Snapshotter& sn, const snapshot::UpperDirInfo& dirs,
                    const std::string& parent) {
  if (parent.empty()) return dirs.lowers.empty();
  auto p = sn.DiffDirs(parent);
  if (!p.ok() || dirs.lowers.size() != p->lowers.size() + 1 || dirs.lowers[0] != p->upper) {
    return false;
  }
  return std::equal(p->lowers.begin(), p->lowers.end(), dirs.lowers.begin() + 1);
}

Result<DiffStats> Diff(const Context& ctx, snapshot::Snapshotter& sn, const std::string& key,
                       const std::string& parent, const DiffOptions& opts, const ByteSink& sink) {
  auto dirs = sn.DiffDirs(key);
  if (!dirs.ok() && dirs.status().code() != Code::kUnimplemented) return dirs.status();
  std::unique_ptr<snapshot::Mount> lower;
  if (!parent.empty()) {
    KILN_ASSIGN_OR_RETURN(lower, sn.MountSnapshot(parent, /*readonly=*/true));
  }
  std::string lower_path = lower ? lower->path() : "";
  if (dirs.ok() && IsDirectParent(sn, *dirs, parent)) {
    return WriteOverlayDiff(ctx, dirs->upper, lower_path, opts, sink);
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<snapshot::Mount> upper,
                        sn.MountSnapshot(key, /*readonly=*/true));
  return WriteTreeDiff(ctx, lower_path, upper->path(), opts, sink);
}

}  // namespace

Result<DiffStats> WriteSnapshotDiff(const Context& ctx, snapshot::Snapshotter& sn,
                                    const std::string& key, const std::string& parent,
                                    const DiffOptions& opts, const ByteSink& sink) {
  auto r = Diff(ctx, sn, key, parent, opts, sink);
  if (!r.ok()) {
    return r.status().Annotate("diff of snapshot " + key + " against " +
                               (parent.empty() ? "an empty tree" : "snapshot " + parent));
  }
  return r;
}

}  // namespace kiln::layer
