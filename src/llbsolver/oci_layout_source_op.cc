// oci-layout:// sources (source/oci_layout.h): resolved through the client's session in
// GetCacheMap (the key is the image's layer chain, as for docker-image://), layers copied and
// unpacked in Exec.
#include "llbsolver/ops.h"
#include "source/oci_layout.h"

namespace kiln::llbsolver {
namespace {

class OCILayoutSourceOp : public solver::Op {
 public:
  OCILayoutSourceOp(const pb::Op& op, const OpDeps& deps)
      : id_(source::ParseOCILayout(op.source(), op.has_platform() ? &op.platform() : nullptr)),
        deps_(deps) {}

  bool CacheMapDoesWork() const override { return true; }

  Result<solver::CacheMap> GetCacheMap(const Context& ctx, solver::OpContext& oc) override {
    if (!id_.ok()) return id_.status();
    if (deps_.images == nullptr || deps_.sessions == nullptr) {
      return Internal("no image source or session manager configured");
    }
    layout_ = source::SessionLayoutStore(deps_.sessions, *id_, oc.session_ids);
    KILN_ASSIGN_OR_RETURN(resolved_, source::ResolveOCILayout(ctx, *id_, *layout_, *deps_.images));
    auto chains = source::ChainIDs(resolved_.config.diff_ids);
    solver::CacheMap cm;
    cm.digest =
        Digest::FromParts({"kiln.image.v1", chains.empty() ? resolved_.manifest.config.digest.str()
                                                           : chains.back().str()});
    return cm;
  }

  Result<std::vector<solver::OpResultPtr>> Exec(const Context& ctx, solver::OpContext& oc,
                                                const std::vector<solver::OpResultPtr>&) override {
    if (!layout_) return Internal("oci-layout source executed before it resolved");
    KILN_ASSIGN_OR_RETURN(
        auto ref, source::UnpackOCILayout(ctx, resolved_, *layout_, *deps_.images, oc.progress));
    return std::vector<solver::OpResultPtr>{std::make_shared<worker::WorkerRef>(std::move(ref))};
  }

 private:
  Result<source::OCILayoutIdentifier> id_;
  OpDeps deps_;
  std::unique_ptr<source::LayoutStore> layout_;
  source::ResolvedImage resolved_;
};

}  // namespace

std::shared_ptr<solver::Op> NewOCILayoutSourceOp(const pb::Op& op, const OpDeps& deps) {
  return std::make_shared<OCILayoutSourceOp>(op, deps);
}

}  // namespace kiln::llbsolver
