#pragma once
// The generic scheduler (BuildKit's solver package). A vertex is computed once however many
// jobs ask for it at the same time (shared by digest); independent vertices run in parallel up to
// a limit; cache keys come from the op's cache map, its inputs' keys and, where the op asks,
// content checksums of its inputs' results; keys and the results that satisfy them are recorded
// in a CacheKeyStore so later builds (and a restarted daemon) reuse them. Work that no job waits
// for any more is cancelled. Thread-safe.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "solver/keystore.h"
#include "solver/progress.h"
#include "solver/types.h"

namespace kiln::solver {

class Solver;
struct VertexState;

// A build request's view: its progress, sessions and the vertices it uses.
class Job {
 public:
  ~Job();
  const std::string& id() const { return id_; }
  ProgressBuffer& progress() { return *progress_; }
  // The buffer outlives the job: the daemon keeps it to replay progress after the job ends.
  const std::shared_ptr<ProgressBuffer>& progress_buffer() const { return progress_; }
  const std::vector<std::string>& session_ids() const { return session_ids_; }

 private:
  friend class Solver;
  Job(Solver* s, std::string id, std::vector<std::string> sessions)
      : solver_(s), id_(std::move(id)), session_ids_(std::move(sessions)) {}
  Solver* solver_;
  std::string id_;
  std::vector<std::string> session_ids_;
  std::shared_ptr<ProgressBuffer> progress_ = std::make_shared<ProgressBuffer>();
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<VertexState>> states_;  // guarded by mu_
};

struct SolverOptions {
  int max_parallelism = 4;
};

class Solver {
 public:
  Solver(SolverOptions opts, CacheKeyStore* keys, ResultLoader* loader);
  ~Solver();

  std::shared_ptr<Job> NewJob(std::string id, std::vector<std::string> session_ids);

  // Builds `target` for `job`: its result, from cache or by running ops.
  Result<OpResultPtr> Build(const Context& ctx, const std::shared_ptr<Job>& job, const Edge& target);

  // How many times an op ran (not from cache) for vertex `digest` since start. For tests/debug.
  int64_t ExecCount(const std::string& digest) const;

 private:
  friend class Job;
  friend struct VertexState;
  struct KeyInfo;

  std::shared_ptr<VertexState> Attach(const std::shared_ptr<Job>& job, const std::shared_ptr<Vertex>& v);
  Result<std::shared_ptr<KeyInfo>> CacheKey(const Context& ctx, const std::shared_ptr<Job>& job,
                                            const std::shared_ptr<VertexState>& st);
  Result<std::vector<OpResultPtr>> Results(const Context& ctx, const std::shared_ptr<Job>& job,
                                           const std::shared_ptr<VertexState>& st);
  Result<OpResultPtr> EdgeResult(const Context& ctx, const std::shared_ptr<Job>& job, const Edge& e);
  Result<std::vector<OpResultPtr>> ComputeResults(const Context& ctx, const std::shared_ptr<Job>& job,
                                                  const std::shared_ptr<VertexState>& st);
  Status AcquireSlot(const Context& ctx);
  void ReleaseSlot();

  SolverOptions opts_;
  CacheKeyStore* keys_;
  ResultLoader* loader_;

  mutable std::mutex mu_;
  std::map<std::string, std::weak_ptr<VertexState>> states_;  // by digest, guarded by mu_
  std::map<std::string, int64_t> exec_counts_;                // guarded by mu_

  std::mutex slot_mu_;
  std::condition_variable slot_cv_;
  int slots_used_ = 0;
};

}  // namespace kiln::solver
