// http:// and https:// sources (source/http.h). With a pinned http.checksum the cache key is
// known from the definition and the download waits for a cache miss in Exec; without one,
// GetCacheMap revalidates or downloads and keys on the content.
#include "llbsolver/ops.h"
#include "source/http.h"

namespace kiln::llbsolver {
namespace {

class HttpSourceOp : public solver::Op {
 public:
  HttpSourceOp(const pb::SourceOp& op, const OpDeps& deps)
      : id_(source::ParseHttp(op)), deps_(deps) {}

  bool CacheMapDoesWork() const override { return !id_.ok() || id_->checksum.empty(); }

  Result<solver::CacheMap> GetCacheMap(const Context& ctx, solver::OpContext& oc) override {
    if (!id_.ok()) return id_.status();
    solver::CacheMap cm;
    if (!id_->checksum.empty()) {
      cm.digest = source::HttpCacheKey(*id_, source::HttpFileName(*id_, ""), id_->checksum, "");
      return cm;
    }
    KILN_RETURN_IF_ERROR(Fetch(ctx, oc));
    cm.digest =
        source::HttpCacheKey(*id_, result_.filename, result_.content, result_.last_modified);
    return cm;
  }

  Result<std::vector<solver::OpResultPtr>> Exec(const Context& ctx, solver::OpContext& oc,
                                                const std::vector<solver::OpResultPtr>&) override {
    if (!result_.ref.valid()) KILN_RETURN_IF_ERROR(Fetch(ctx, oc));
    return std::vector<solver::OpResultPtr>{std::make_shared<worker::WorkerRef>(result_.ref)};
  }

 private:
  Status Fetch(const Context& ctx, solver::OpContext& oc) {
    if (deps_.http == nullptr) return Internal("no http source configured");
    KILN_ASSIGN_OR_RETURN(result_,
                          deps_.http->Fetch(ctx, *id_, oc.progress, JobSecrets(ctx, deps_, oc)));
    return Status::Ok();
  }

  Result<source::HttpIdentifier> id_;
  OpDeps deps_;
  source::HttpResult result_;
};

}  // namespace

std::shared_ptr<solver::Op> NewHttpSourceOp(const pb::Op& op, const OpDeps& deps) {
  return std::make_shared<HttpSourceOp>(op.source(), deps);
}

}  // namespace kiln::llbsolver
