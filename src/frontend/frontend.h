#pragma once
// The frontend seam (BuildKit's frontend/frontend.go): a frontend turns its options and inputs
// into a result by calling back the bridge. The Dockerfile frontend (dockerfile.v0) and the
// gateway frontend (gateway.v0) implement Frontend; llbsolver implements the bridge.

#include <map>
#include <memory>
#include <string>

#include "pb/ops.pb.h"
#include "solver/types.h"

namespace kiln::frontend {

struct SolveResult {
  solver::OpResultPtr ref;  // null for an empty result
  std::map<std::string, std::string> metadata;
};

// What a frontend may ask of the daemon while it runs.
class FrontendLLBBridge {
 public:
  virtual ~FrontendLLBBridge() = default;
  virtual Result<SolveResult> Solve(const Context& ctx, const pb::Definition& def) = 0;
  virtual Result<SolveResult> SolveFrontend(const Context& ctx, const std::string& name,
                                            const std::map<std::string, std::string>& opts) = 0;
};

class Frontend {
 public:
  virtual ~Frontend() = default;
  virtual Result<SolveResult> Solve(const Context& ctx, FrontendLLBBridge& bridge,
                                    const std::map<std::string, std::string>& opts) = 0;
};

// Frontends built into the daemon, by name ("dockerfile.v0", "gateway.v0").
class Registry {
 public:
  void Register(const std::string& name, std::shared_ptr<Frontend> f) { frontends_[name] = std::move(f); }
  // The frontend, or an error telling which ones exist.
  Result<std::shared_ptr<Frontend>> Get(const std::string& name) const;

 private:
  std::map<std::string, std::shared_ptr<Frontend>> frontends_;
};

}  // namespace kiln::frontend
