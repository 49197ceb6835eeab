#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "llbsolver/diff.h"
#include "llbsolver/ops.h"
#include "util/fs_copy.h"
#include "util/path.h"

namespace kiln::llbsolver {
namespace {

solver::CacheMap KeyBased(const std::string& kind, const pb::Op& op) {
  solver::CacheMap cm;
  pb::Op keyed;
  if (op.has_merge()) *keyed.mutable_merge() = op.merge();
  if (op.has_diff()) *keyed.mutable_diff() = op.diff();
  cm.digest = OpDigest(kind, keyed);
  cm.deps.resize(static_cast<size_t>(op.inputs_size()));
  return cm;
}

// Applies `ref` on top of the tree at `dest`: its deletions first, then its files.
Status Apply(const Context& ctx, const cache::ImmutableRef& ref, const std::string& dest) {
  for (const auto& w : ref.record().whiteouts) {
    KILN_RETURN_IF_ERROR(RemoveAll(JoinUnder(dest, w)));
  }
  KILN_ASSIGN_OR_RETURN(auto m, ref.Mount());
  return CopyTree(ctx, m->path(), dest, CopyOptions{});
}

// MergeOp: the inputs' trees layered in order, later ones winning (and applying their deletions).
class MergeOp : public solver::Op {
 public:
  MergeOp(pb::Op op, const OpDeps& deps) : op_(std::move(op)), deps_(deps) {}
  Result<solver::CacheMap> GetCacheMap(const Context&, solver::OpContext&) override {
    return KeyBased("merge", op_);
  }
  Result<std::vector<solver::OpResultPtr>> Exec(
      const Context& ctx, solver::OpContext&,
      const std::vector<solver::OpResultPtr>& inputs) override {
    KILN_ASSIGN_OR_RETURN(auto m, deps_.worker->cache().New(ctx, nullptr, "merge"));
    nlohmann::json ids = nlohmann::json::array();
    {
      KILN_ASSIGN_OR_RETURN(auto mnt, m.Mount());
      for (const auto& in : op_.merge().inputs()) {
        KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref,
                              worker::RefOf(inputs[static_cast<size_t>(in.input())]));
        KILN_RETURN_IF_ERROR(Apply(ctx, *ref, mnt->path()));
        ids.push_back(ref->id());
      }
    }
    KILN_ASSIGN_OR_RETURN(auto ref, m.Commit());
    // The result is one tree; its image layers are its inputs' (exporter/layer_chain.h).
    KILN_RETURN_IF_ERROR(
        deps_.worker->cache().SetValue(ref.id(), cache::kMergeInputsKey, ids.dump()));
    return std::vector<solver::OpResultPtr>{std::make_shared<worker::WorkerRef>(std::move(ref))};
  }

 private:
  pb::Op op_;
  OpDeps deps_;
};

// DiffOp: what upper changed relative to lower; deletions are recorded as whiteouts that apply
// when the diff is merged onto another tree.
class DiffOp : public solver::Op {
 public:
  DiffOp(pb::Op op, const OpDeps& deps) : op_(std::move(op)), deps_(deps) {}
  Result<solver::CacheMap> GetCacheMap(const Context&, solver::OpContext&) override {
    return KeyBased("diff", op_);
  }
  Result<std::vector<solver::OpResultPtr>> Exec(
      const Context& ctx, solver::OpContext&,
      const std::vector<solver::OpResultPtr>& inputs) override {
    char tmpl[] = "/tmp/kiln-diff-XXXXXX";
    if (!mkdtemp(tmpl)) return ErrnoStatus(errno, "mkdtemp");
    std::string empty = tmpl;
    auto side = [&](int64_t idx, std::unique_ptr<snapshot::Mount>* keep) -> Result<std::string> {
      if (idx < 0) return empty;
      KILN_ASSIGN_OR_RETURN(const cache::ImmutableRef* ref,
                            worker::RefOf(inputs[static_cast<size_t>(idx)]));
      KILN_ASSIGN_OR_RETURN(*keep, ref->Mount());
      return (*keep)->path();
    };
    std::unique_ptr<snapshot::Mount> lm, um;
    auto run = [&]() -> Result<std::vector<solver::OpResultPtr>> {
      KILN_ASSIGN_OR_RETURN(std::string lower, side(op_.diff().lower().input(), &lm));
      KILN_ASSIGN_OR_RETURN(std::string upper, side(op_.diff().upper().input(), &um));
      KILN_ASSIGN_OR_RETURN(auto m, deps_.worker->cache().New(ctx, nullptr, "diff"));
      std::vector<std::string> whiteouts;
      {
        KILN_ASSIGN_OR_RETURN(auto mnt, m.Mount());
        KILN_ASSIGN_OR_RETURN(whiteouts, WriteDiff(ctx, lower, upper, mnt->path()));
      }
      m.SetWhiteouts(std::move(whiteouts));
      KILN_ASSIGN_OR_RETURN(auto ref, m.Commit());
      return std::vector<solver::OpResultPtr>{std::make_shared<worker::WorkerRef>(std::move(ref))};
    };
    auto r = run();
    rmdir(empty.c_str());
    return r;
  }

 private:
  pb::Op op_;
  OpDeps deps_;
};

}  // namespace

std::shared_ptr<solver::Op> NewMergeOp(const pb::Op& op, const OpDeps& deps) {
  return std::make_shared<MergeOp>(op, deps);
}

std::shared_ptr<solver::Op> NewDiffOp(const pb::Op& op, const OpDeps& deps) {
  return std::make_shared<DiffOp>(op, deps);
}

}  // namespace kiln::llbsolver
