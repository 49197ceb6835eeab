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

// docker-image:// sources resolve in GetCacheMap (the key is the image's layer chain) and
// fetch and unpack the layers in Exec.
class ImageSourceOp : public solver::Op {
 public:
  ImageSourceOp(pb::Op op, const OpDeps& deps) : op_(std::move(op)), deps_(deps) {}

  bool CacheMapDoesWork() const override { return true; }

  Result<solver::CacheMap> GetCacheMap(const Context& ctx, solver::OpContext& oc) override {
    if (deps_.images == nullptr) return Internal("no image source configured");
    KILN_ASSIGN_OR_RETURN(auto id, source::ParseImage(op_.source(),
                                                      op_.has_platform() ? &op_.platform() : nullptr));
    KILN_ASSIGN_OR_RETURN(resolved_, deps_.images->Resolve(ctx, id, Credentials(ctx, oc), oc.progress));
    auto chains = source::ChainIDs(resolved_.config.diff_ids);
    solver::CacheMap cm;
    cm.digest = Digest::FromParts({"kiln.image.v1", chains.empty() ? resolved_.manifest.config.digest.str()
                                                                   : chains.back().str()});
    return cm;
  }

  Result<std::vector<solver::OpResultPtr>> Exec(const Context& ctx, solver::OpContext& oc,
                                                const std::vector<solver::OpResultPtr>&) override {
    if (resolved_.root_digest.empty()) return Internal("image source executed before it resolved");
    KILN_ASSIGN_OR_RETURN(auto ref, deps_.images->Unpack(ctx, resolved_, Credentials(ctx, oc), oc.progress));
    return std::vector<solver::OpResultPtr>{std::make_shared<worker::WorkerRef>(std::move(ref))};
  }

 private:
  registry::CredentialsFn Credentials(const Context& ctx, const solver::OpContext& oc) const {
    if (!deps_.credentials) return nullptr;
    return deps_.credentials(ctx, oc.session_ids);
  }

  pb::Op op_;
  OpDeps deps_;
  source::ResolvedImage resolved_;
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
    return Unimplemented(
        "source \"" + ident_ + "\": the " + scheme +
        " source is not implemented yet in kiln (local://, docker-image://, oci-layout://, "
        "http://, https:// and git:// are)");
  }
  std::string ident_;
};

}  // namespace

std::shared_ptr<solver::Op> NewSourceOp(const pb::Op& op, const OpDeps& deps) {
  const std::string& ident = op.source().identifier();
  if (ident.rfind("local://", 0) == 0) return std::make_shared<LocalSourceOp>(op.source(), deps);
  if (ident.rfind("docker-image://", 0) == 0) return std::make_shared<ImageSourceOp>(op, deps);
  if (ident.rfind("http://", 0) == 0 || ident.rfind("https://", 0) == 0) {
    return NewHttpSourceOp(op, deps);
  }
  if (ident.rfind("git://", 0) == 0) return NewGitSourceOp(op, deps);
  if (ident.rfind("oci-layout://", 0) == 0) return NewOCILayoutSourceOp(op, deps);
  return std::make_shared<UnsupportedSourceOp>(ident);
}

}  // namespace kiln::llbsolver
