#pragma once
// LLB op implementations for the generic solver (BuildKit's solver/llbsolver/ops): each turns
// one pb.Op into a solver::Op with a cache map and an Exec on worker refs.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llb/definition.h"
#include "session/session.h"
#include "solver/types.h"
#include "source/git.h"
#include "source/http.h"
#include "source/image.h"
#include "source/local.h"
#include "worker/worker.h"

namespace kiln::llbsolver {

struct OpDeps {
  worker::Worker* worker = nullptr;
  session::Manager* sessions = nullptr;
  source::LocalSource* local = nullptr;
  source::ImageSource* images = nullptr;
  source::HttpSource* http = nullptr;
  source::GitSource* git = nullptr;
  // Registry credentials for a job: asked lazily, per host, of the job's sessions and the
  // daemon's config. May be empty (anonymous unless the config has credentials).
  std::function<registry::CredentialsFn(const Context&, const std::vector<std::string>&)>
      credentials;
};

Result<std::shared_ptr<solver::Op>> NewOp(const llb::LoadedOp& op, const OpDeps& deps);

std::shared_ptr<solver::Op> NewSourceOp(const pb::Op& op, const OpDeps& deps);
std::shared_ptr<solver::Op> NewHttpSourceOp(const pb::Op& op, const OpDeps& deps);
std::shared_ptr<solver::Op> NewGitSourceOp(const pb::Op& op, const OpDeps& deps);
std::shared_ptr<solver::Op> NewOCILayoutSourceOp(const pb::Op& op, const OpDeps& deps);
std::shared_ptr<solver::Op> NewFileOp(const pb::Op& op, const OpDeps& deps);
std::shared_ptr<solver::Op> NewMergeOp(const pb::Op& op, const OpDeps& deps);
std::shared_ptr<solver::Op> NewDiffOp(const pb::Op& op, const OpDeps& deps);
// `name`: the step's progress name, for errors that are about the whole step.
std::shared_ptr<solver::Op> NewExecOp(const pb::Op& op, const OpDeps& deps,
                                      const std::string& name = "");

// The job's client secrets for a source (session::GetSecret over oc's sessions); bound to ctx
// and oc, which must outlive the calls.
source::SecretFn JobSecrets(const Context& ctx, const OpDeps& deps, const solver::OpContext& oc);

// Digest of a message's deterministic bytes, prefixed by a kind; the op's own cache-map part.
Digest OpDigest(const std::string& kind, const google::protobuf::Message& m);

}  // namespace kiln::llbsolver
