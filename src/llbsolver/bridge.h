#pragma once
// The frontend bridge of one build (BuildKit's llbBridge): solves definitions and named
// frontends for the build's job, reads files of results and resolves image configs. Built-in
// frontends call it directly; the daemon's LLBBridge gRPC service serves the same calls to
// client-side and containerised frontends. Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "frontend/frontend.h"
#include "llbsolver/llbsolver.h"
#include "session/session.h"
#include "source/image.h"

namespace kiln::llbsolver {

struct BridgeDeps {
  LLBSolver* llb = nullptr;
  source::ImageSource* images = nullptr;
  session::Manager* sessions = nullptr;
  const frontend::Registry* frontends = nullptr;
};

class Bridge final : public frontend::FrontendLLBBridge {
 public:
  // `job` is the build's solver job; `entitlements` what the client asked for and the daemon
  // granted.
  Bridge(BridgeDeps deps, std::shared_ptr<solver::Job> job, std::string session_id,
         std::vector<std::string> entitlements);

  Result<frontend::SolveResult> Solve(const Context& ctx, const pb::Definition& def) override;
  Result<frontend::SolveResult> SolveFrontend(const Context& ctx, const std::string& name,
                                              const std::map<std::string, std::string>& opts,
                                              const frontend::Inputs& inputs) override;
  Result<std::string> ReadFile(const Context& ctx, const solver::OpResultPtr& ref,
                               const std::string& path, int64_t offset, int64_t length) override;
  Result<frontend::ResolvedImageConfig> ResolveImageConfig(
      const Context& ctx, const std::string& ref,
      const frontend::ResolveImageConfigOptions& opts) override;
  std::string session_id() const override { return session_id_; }
  Status WithProgress(const std::string& name, const std::function<Status()>& body) override;
  void Warn(solver::WarningEvent w) override;

 private:
  Result<frontend::ResolvedImageConfig> ResolveOCILayoutConfig(
      const Context& ctx, const std::string& ref, const frontend::ResolveImageConfigOptions& opts);

  BridgeDeps deps_;
  std::shared_ptr<solver::Job> job_;
  std::string session_id_;
  std::vector<std::string> entitlements_;
};

// The most ReadFile returns in one call.
inline constexpr int64_t kMaxReadFile = 64 << 20;

}  // namespace kiln::llbsolver
