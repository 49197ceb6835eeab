#pragma once
// Solving LLB: a Definition becomes solver vertices with op implementations (shared by digest
// with any other job's), and the solver builds the result ref. Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "llbsolver/ops.h"
#include "pb/ops.pb.h"
#include "solver/solver.h"

namespace kiln::llbsolver {

class LLBSolver {
 public:
  LLBSolver(solver::Solver* solver, OpDeps deps) : solver_(solver), deps_(deps) {}

  // Builds the definition's result for `job`. A definition whose result is scratch yields a
  // null result. Exec ops asking for an entitlement not in `entitlements` (what the client
  // asked for and the daemon granted) are refused before anything runs.
  Result<solver::OpResultPtr> Solve(const Context& ctx, const std::shared_ptr<solver::Job>& job,
                                    const pb::Definition& def,
                                    const std::vector<std::string>& entitlements = {});

  // The solver vertex graph for a loaded definition (exposed for tests and the bridge).
  Result<solver::Edge> Load(const llb::LoadedDefinition& def);

 private:
  solver::Solver* solver_;
  OpDeps deps_;
};

}  // namespace kiln::llbsolver
