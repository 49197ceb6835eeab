// git:// sources (source/git.h): GetCacheMap resolves the ref on the remote (the key is the
// commit), Exec fetches and checks it out on a cache miss.
#include "llbsolver/ops.h"
#include "source/git.h"

namespace kiln::llbsolver {
namespace {

class GitSourceOp : public solver::Op {
 public:
  GitSourceOp(const pb::SourceOp& op, const OpDeps& deps)
      : id_(source::ParseGit(op)), deps_(deps) {}

  bool CacheMapDoesWork() const override { return !id_.ok() || !source::IsCommitSha(id_->ref); }

  Result<solver::CacheMap> GetCacheMap(const Context& ctx, solver::OpContext& oc) override {
    if (!id_.ok()) return id_.status();
    if (deps_.git == nullptr) return Internal("no git source configured");
    KILN_ASSIGN_OR_RETURN(resolved_, deps_.git->Resolve(ctx, *id_, JobSecrets(ctx, deps_, oc)));
    solver::CacheMap cm;
    cm.digest = Digest::FromParts({"kiln.git.v1", resolved_.key});
    return cm;
  }

  Result<std::vector<solver::OpResultPtr>> Exec(const Context& ctx, solver::OpContext& oc,
                                                const std::vector<solver::OpResultPtr>&) override {
    if (resolved_.sha.empty()) return Internal("git source executed before it resolved");
    KILN_ASSIGN_OR_RETURN(auto ref, deps_.git->Checkout(ctx, *id_, resolved_, oc.progress,
                                                        JobSecrets(ctx, deps_, oc)));
    return std::vector<solver::OpResultPtr>{std::make_shared<worker::WorkerRef>(std::move(ref))};
  }

 private:
  Result<source::GitIdentifier> id_;
  OpDeps deps_;
  source::GitResolved resolved_;
};

}  // namespace

std::shared_ptr<solver::Op> NewGitSourceOp(const pb::Op& op, const OpDeps& deps) {
  return std::make_shared<GitSourceOp>(op.source(), deps);
}

}  // namespace kiln::llbsolver
