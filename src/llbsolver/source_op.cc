#include "llbsolver/ops.h"

namespace kiln::llbsolver {
namespace {

// local:// sources sync in GetCacheMap and key on the content received (see source/local.h).
class LocalSourceOp : public solver::Op {
 public:
  LocalSourceOp(pb::SourceOp op, const OpDeps& deps) : op_(std::move(op)), deps_(deps) {}

  bool CacheMapDoesWork() const override { return true; }

  Result<solver::CacheMap> GetCacheMap(const Context& ctx, solver::OpContext& oc) override {
    KILN_ASSIGN_OR_RETURN(auto id, source::ParseLocal(op_));
    KILN_ASSIGN_OR_RETURN(auto res, deps_.local->Sync(ctx, id, oc.session_ids, oc.progress));
    solver::CacheMap cm;
    cm.digest = Digest::FromParts({"kiln.local.v1", id.name, res.content.str()});
    result_ = std::move(res.ref);
    return cm;
  }

  Result<std::vector<solver::OpResultPtr>> Exec(const Context& ctx, solver::OpContext& oc,
                                                const std::vector<solver::OpResultPtr>&) override {
    if (!result_.valid()) return Internal("local source executed before it synced");
    return std::vector<solver::OpResultPtr>{std::make_shared<worker::WorkerRef>(result_)};
  }

 private:
  pb::SourceOp op_;
  OpDeps deps_;
  cache::ImmutableRef result_;
};

class UnsupportedSourceOp : public solver::Op {
 public:
  explicit UnsupportedSourceOp(std::string ident) : ident_(std::move(ident)) {}
  Result<solver::CacheMap> GetCacheMap(const Context&, solver::OpContext&) override { return Err(); }
  Result<std::vector<solver::OpResultPtr>> Exec(const Context&, solver::OpContext&,
                                                const std::vector<solver::OpResultPtr>&) override {
    return Err();
  }

 private:
  Status Err() const {
    std::string scheme = ident_.substr(0, ident_.find("://"));
    return Unimplemented("source \"" + ident_ + "\": the " + scheme +
                         " source is not implemented yet in kiln (local:// is)");
  }
  std::string ident_;
};

}  // namespace

std::shared_ptr<solver::Op> NewSourceOp(const pb::SourceOp& op, const OpDeps& deps) {
  if (op.identifier().rfind("local://", 0) == 0) return std::make_shared<LocalSourceOp>(op, deps);
  return std::make_shared<UnsupportedSourceOp>(op.identifier());
}

}  // namespace kiln::llbsolver
