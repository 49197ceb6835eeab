#include "llbsolver/llbsolver.h"

#include "llbsolver/exec_meta.h"

#include <functional>
#include <map>

namespace kiln::llbsolver {

Result<solver::Edge> LLBSolver::Load(const llb::LoadedDefinition& def) {
  std::map<std::string, std::shared_ptr<solver::Vertex>> made;
  // Definitions are acyclic (LoadDefinition checked), so plain recursion terminates; depth is
  // bounded by the number of ops.
  std::function<Result<std::shared_ptr<solver::Vertex>>(const std::string&)> make =
      [&](const std::string& dgst) -> Result<std::shared_ptr<solver::Vertex>> {
    auto it = made.find(dgst);
    if (it != made.end()) return it->second;
    const llb::LoadedOp& lo = def.ops.at(dgst);
    auto v = std::make_shared<solver::Vertex>();
    v->digest = dgst;
    v->name = llb::VertexName(lo);
    v->num_outputs = llb::NumOutputs(lo.op);
    v->ignore_cache = lo.meta.ignore_cache();
    for (const auto& in : lo.op.inputs()) {
      KILN_ASSIGN_OR_RETURN(auto iv, make(in.digest()));
      v->inputs.push_back(solver::Edge{iv, static_cast<int>(in.index())});
    }
    KILN_ASSIGN_OR_RETURN(v->op, NewOp(lo, deps_));
    made[dgst] = v;
    return v;
  };
  KILN_ASSIGN_OR_RETURN(auto root, make(def.root));
  return solver::Edge{root, static_cast<int>(def.root_index)};
}

Result<solver::OpResultPtr> LLBSolver::Solve(const Context& ctx, const std::shared_ptr<solver::Job>& job,
                                             const pb::Definition& def,
                                             const std::vector<std::string>& entitlements) {
  // A definition with only a terminal op and no input is an empty (scratch) result.
  if (def.def_size() == 1) {
    pb::Op term;
    if (term.ParseFromString(def.def(0)) && term.op_case() == pb::Op::OP_NOT_SET &&
        term.inputs_size() == 0) {
      return solver::OpResultPtr();
    }
  }
  KILN_ASSIGN_OR_RETURN(auto loaded, llb::LoadDefinition(def));
  for (const auto& [dgst, lo] : loaded.ops) KILN_RETURN_IF_ERROR(ValidateEntitlements(lo.op, entitlements));
  KILN_ASSIGN_OR_RETURN(auto edge, Load(loaded));
  return solver_->Build(ctx, job, edge);
}

}  // namespace kiln::llbsolver
