#pragma once
// Build jobs by client ref: what Control.Solve, Control.Status and the LLBBridge calls of one
// build share. Finished jobs stay a few minutes so a late Status call can replay their
// progress. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "frontend/frontend.h"
#include "llbsolver/bridge.h"
#include "solver/solver.h"

namespace kiln::daemon {

struct BuildJob {
  std::string ref;
  std::string session_id;
  Context ctx = Context::Background();
  std::shared_ptr<solver::Job> job;  // dropped when the build ends (releases its refs)
  std::shared_ptr<llbsolver::Bridge> bridge_api;  // the frontend bridge on `job`; dropped with it
  std::shared_ptr<solver::ProgressBuffer> progress;
  std::vector<std::string> entitlements;

  // Client-side gateway flow: results handed out by LLBBridge.Solve, and what Return gave.
  std::mutex mu;
  std::condition_variable cv;
  bool bridge = false;
  std::map<std::string, frontend::SolveResult> results;  // guarded by mu
  frontend::Inputs inputs;  // Control.Solve's FrontendInputs (LLBBridge.Inputs); guarded by mu
  std::optional<Result<frontend::SolveResult>> returned;  // guarded by mu
  bool done = false;                                      // guarded by mu
};

class JobRegistry {
 public:
  // A new job for `ref`; AlreadyExists if one with that ref is running.
  Result<std::shared_ptr<BuildJob>> Create(const std::string& ref, Context ctx);
  // Marks the job ended; it stays findable for replay for a while.
  void Finish(const std::shared_ptr<BuildJob>& j);
  // The job `ref`, waiting up to `wait` for it to be created.
  Result<std::shared_ptr<BuildJob>> Get(const Context& ctx, const std::string& ref,
                                        std::chrono::milliseconds wait);
  size_t running() const;

 private:
  void CollectLocked();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Entry {
    std::shared_ptr<BuildJob> job;
    std::optional<std::chrono::steady_clock::time_point> finished;
  };
  std::map<std::string, Entry> jobs_;  // guarded by mu_
};

}  // namespace kiln::daemon
