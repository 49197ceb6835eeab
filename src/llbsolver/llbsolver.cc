#include "llbsolver/llbsolver.h"

#include <functional>
#include <map>

#include "llbsolver/exec_meta.h"

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

namespace {

// The failing vertex's lines from the definition's source map (a Dockerfile's instruction), as
// BuildKit attaches them, unless the error already names its source.
Status WithSourceOf(const Status& err, const pb::Definition& def) {
  const std::string& vertex = err.details().vertex;
  if (vertex.empty() || !err.details().sources.empty() || !def.has_source()) return err;
  auto it = def.source().locations().find(vertex);
  if (it == def.source().locations().end()) return err;
  Status out = err;
  for (const pb::Location& loc : it->second.locations()) {
    if (loc.sourceindex() < 0 || loc.sourceindex() >= def.source().infos_size()) continue;
    const pb::SourceInfo& info = def.source().infos(loc.sourceindex());
    SourceLocation src{info.filename(), info.data(), {}};
    for (const pb::Range& r : loc.ranges()) {
      src.ranges.emplace_back(r.start().line(), r.end().line());
    }
    out = out.WithSource(std::move(src));
  }
  return out;
}

}  // namespace

Result<solver::OpResultPtr> LLBSolver::Solve(const Context& ctx,
                                             const std::shared_ptr<solver::Job>& job,
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
  for (const auto& [dgst, lo] : loaded.ops)
    KILN_RETURN_IF_ERROR(ValidateEntitlements(lo.op, entitlements));
  KILN_ASSIGN_OR_RETURN(auto edge, Load(loaded));
  auto result = solver_->Build(ctx, job, edge);
  if (result.ok()) return result;
  return WithSourceOf(result.status(), def);
}

}  // namespace kiln::llbsolver
