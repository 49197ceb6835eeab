#include "solver/solver.h"

#include <condition_variable>
#include <mutex>

#include "util/flight.h"
#include "util/log.h"
#include "util/thread_cache.h"

namespace kiln::solver {

struct Solver::KeyInfo {
  std::string cachemap;
  Digest base;
  std::vector<KeyInput> inputs;
  std::string OutputKey(int index) const {
    return Digest::FromParts({base.str(), std::to_string(index)}).str();
  }
};

// Shared by every job that uses a vertex with this digest.
struct VertexState {
  explicit VertexState(std::shared_ptr<Vertex> vertex)
      : v(std::move(vertex)),
        progress(&fanout, VertexEvent{v->digest, v->name, InputDigests(*v), false, {}, {}, {}}) {}

  static std::vector<std::string> InputDigests(const Vertex& v) {
    std::vector<std::string> out;
    for (const auto& e : v.inputs) out.push_back(e.vertex->digest);
    return out;
  }

  std::shared_ptr<Vertex> v;
  ProgressFanout fanout;
  VertexProgress progress;
  Flight<std::shared_ptr<Solver::KeyInfo>> key_flight;
  Flight<std::vector<OpResultPtr>> result_flight;
};

namespace {

// Runs fn(i) for i in [0, n) in parallel; the first error cancels the rest and is returned.
Status ParallelFor(const Context& ctx, size_t n, const std::function<Status(const Context&, size_t)>& fn) {
  if (n == 0) return Status::Ok();
  if (n == 1) return fn(ctx, 0);
  Context child = ctx.Child();
  std::vector<Status> errs(n);
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  auto run = [&](size_t i) {
    Status s = fn(child, i);
    if (!s.ok()) child.Cancel(s);
    std::lock_guard<std::mutex> l(mu);
    errs[i] = std::move(s);
    done++;
    cv.notify_all();
  };
  // All but the last on threads of their own, the last on this one.
  for (size_t i = 0; i + 1 < n; i++) RunOnThread([&run, i] { run(i); });
  run(n - 1);
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return done == n; });
  }
  // Prefer the root cause over the cancellations it caused.
  for (auto& e : errs) {
    if (!e.ok() && e.code() != Code::kCancelled) return e;
  }
  for (auto& e : errs) {
    if (!e.ok()) return e;
  }
  return Status::Ok();
}

}  // namespace

Job::~Job() {
  for (auto& [d, st] : states_) st->fanout.Remove(progress_.get());
}

Solver::Solver(SolverOptions opts, CacheKeyStore* keys, ResultLoader* loader)
    : opts_(opts), keys_(keys), loader_(loader) {
  if (opts_.max_parallelism < 1) opts_.max_parallelism = 1;
}

Solver::~Solver() = default;

std::shared_ptr<Job> Solver::NewJob(std::string id, std::vector<std::string> session_ids) {
  return std::shared_ptr<Job>(new Job(this, std::move(id), std::move(session_ids)));
}

int64_t Solver::ExecCount(const std::string& digest) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = exec_counts_.find(digest);
  return it == exec_counts_.end() ? 0 : it->second;
}

std::shared_ptr<VertexState> Solver::Attach(const std::shared_ptr<Job>& job,
                                            const std::shared_ptr<Vertex>& v) {
  {
    std::lock_guard<std::mutex> l(job->mu_);
    auto it = job->states_.find(v->digest);
    if (it != job->states_.end()) return it->second;
  }
  std::shared_ptr<VertexState> st;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& weak = states_[v->digest];
    st = weak.lock();
    if (!st) {
      st = std::make_shared<VertexState>(v);
      weak = st;
    }
    // Drop entries of vertices nobody uses any more.
    for (auto it = states_.begin(); it != states_.end();) {
      it = it->second.expired() ? states_.erase(it) : std::next(it);
    }
  }
  std::lock_guard<std::mutex> l(job->mu_);
  auto [it, inserted] = job->states_.emplace(v->digest, st);
  if (inserted) st->fanout.Add(job->progress_.get());
  return it->second;
}

Result<OpResultPtr> Solver::Build(const Context& ctx, const std::shared_ptr<Job>& job,
                                  const Edge& target) {
  if (!target.vertex) return InvalidArgument("build has no target vertex");
  auto r = EdgeResult(ctx, job, target);
  if (!r.ok()) return r;
  // Vertices whose results were not needed (a later vertex hit the cache) are cached too, for
  // this job; report them so, as BuildKit does.
  std::vector<std::shared_ptr<VertexState>> states;
  {
    std::lock_guard<std::mutex> l(job->mu_);
    for (auto& [d, st] : job->states_) states.push_back(st);
  }
  for (auto& st : states) {
    if (!st->progress.completed()) {
      VertexEvent v{st->v->digest, st->v->name, VertexState::InputDigests(*st->v), true, {}, {}, {}};
      v.started = v.completed = std::chrono::system_clock::now();
      job->progress_->Write(std::move(v));
    }
  }
  return r;
}

Result<OpResultPtr> Solver::EdgeResult(const Context& ctx, const std::shared_ptr<Job>& job,
                                       const Edge& e) {
  auto st = Attach(job, e.vertex);
  KILN_ASSIGN_OR_RETURN(auto results, Results(ctx, job, st));
  if (e.index < 0 || static_cast<size_t>(e.index) >= results.size()) {
    return InvalidArgument("vertex " + e.vertex->digest + " has no output " + std::to_string(e.index));
  }
  return results[static_cast<size_t>(e.index)];
}

Result<std::shared_ptr<Solver::KeyInfo>> Solver::CacheKey(const Context& ctx,
                                                          const std::shared_ptr<Job>& job,
                                                          const std::shared_ptr<VertexState>& st) {
  return st->key_flight.Get(ctx, [this, job, st](const Context& fctx)
                                     -> Result<std::shared_ptr<KeyInfo>> {
    const Vertex& v = *st->v;
    OpContext oc{job->id(), job->session_ids(), &st->progress};
    if (v.op->CacheMapDoesWork()) st->progress.Started();
    KILN_RETURN_IF_ERROR(AcquireSlot(fctx));
    Result<CacheMap> cm = v.op->GetCacheMap(fctx, oc);
    ReleaseSlot();
    if (!cm.ok()) {
      if (v.op->CacheMapDoesWork()) st->progress.Completed(false, cm.status());
      return cm.status().WithVertex(v.digest);
    }
    // Work done for the key (a source resolving or syncing) shows as done now, as BuildKit does;
    // the vertex starts again if it runs, or shows as cached.
    if (v.op->CacheMapDoesWork()) st->progress.Completed(false, Status::Ok());
    if (cm->deps.size() != v.inputs.size()) {
      return Internal("op of " + v.digest + " gave " + std::to_string(cm->deps.size()) +
                      " cache deps for " + std::to_string(v.inputs.size()) + " inputs");
    }
    auto info = std::make_shared<KeyInfo>();
    info->cachemap = cm->digest.str();
    info->inputs.resize(v.inputs.size());
    KILN_RETURN_IF_ERROR(ParallelFor(fctx, v.inputs.size(), [&](const Context& c, size_t i) -> Status {
      const Edge& in = v.inputs[i];
      const CacheMapDep& dep = cm->deps[i];
      KeyInput& ki = info->inputs[i];
      ki.index = static_cast<int>(i);
      ki.selector = dep.selector;
      if (dep.content_digest) {
        KILN_ASSIGN_OR_RETURN(OpResultPtr r, EdgeResult(c, job, in));
        auto d = dep.content_digest(c, r);
        if (!d.ok()) {
          // The op's own failure (a missing copy source): it shows on this vertex.
          st->progress.Completed(false, d.status());
          return d.status().WithVertex(v.digest);
        }
        ki.input_key = "content:" + d->str();
      } else {
        KILN_ASSIGN_OR_RETURN(auto in_info, CacheKey(c, job, Attach(job, in.vertex)));
        ki.input_key = in_info->OutputKey(in.index);
      }
      return Status::Ok();
    }));
    Sha256 h;
    auto part = [&h](std::string_view s) {
      h.Update(std::to_string(s.size()) + ":");
      h.Update(s);
    };
    part("kiln.cachekey.v1");
    part(info->cachemap);
    for (const auto& ki : info->inputs) {
      part(ki.selector);
      part(ki.input_key);
    }
    info->base = h.Final();
    return info;
  });
}

Result<std::vector<OpResultPtr>> Solver::Results(const Context& ctx, const std::shared_ptr<Job>& job,
                                                 const std::shared_ptr<VertexState>& st) {
  return st->result_flight.Get(ctx, [this, job, st](const Context& fctx) {
    return ComputeResults(fctx, job, st);
  });
}

Result<std::vector<OpResultPtr>> Solver::ComputeResults(const Context& ctx,
                                                        const std::shared_ptr<Job>& job,
                                                        const std::shared_ptr<VertexState>& st) {
  const Vertex& v = *st->v;
  KILN_ASSIGN_OR_RETURN(auto info, CacheKey(ctx, job, st));
  int outputs = v.num_outputs;

  if (!v.ignore_cache) {
    std::vector<OpResultPtr> cached;
    for (int k = 0; k < outputs; k++) {
      KILN_ASSIGN_OR_RETURN(auto ids, keys_->Lookup(info->OutputKey(k)));
      OpResultPtr found;
      for (const auto& id : ids) {
        auto r = loader_->Load(ctx, id);
        if (r.ok()) {
          found = *r;
          break;
        }
        log::Debug("cache record {} for {} is gone: {}", id, v.digest, r.status().message());
      }
      if (!found) break;
      cached.push_back(found);
    }
    if (static_cast<int>(cached.size()) == outputs) {
      st->progress.Completed(true, Status::Ok());
      return cached;
    }
  }

  std::vector<OpResultPtr> inputs(v.inputs.size());
  KILN_RETURN_IF_ERROR(ParallelFor(ctx, v.inputs.size(), [&](const Context& c, size_t i) -> Status {
    KILN_ASSIGN_OR_RETURN(inputs[i], EdgeResult(c, job, v.inputs[i]));
    return Status::Ok();
  }));

  st->progress.Started();
  OpContext oc{job->id(), job->session_ids(), &st->progress};
  Status slot = AcquireSlot(ctx);
  if (!slot.ok()) {
    st->progress.Completed(false, slot);
    return slot;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    exec_counts_[v.digest]++;
  }
  log::Debug("exec vertex {} ({})", v.digest, v.name);
  auto results = v.op->Exec(ctx, oc, inputs);
  ReleaseSlot();
  if (results.ok() && static_cast<int>(results->size()) != outputs) {
    results = Internal("op of " + v.digest + " returned " + std::to_string(results->size()) +
                       " results for " + std::to_string(outputs) + " outputs");
  }
  if (!results.ok()) {
    Status err = ctx.cancelled() ? ctx.Err() : results.status();
    st->progress.Completed(false, err);
    return err.WithVertex(v.digest);
  }
  for (int k = 0; k < outputs; k++) {
    KeyRecord rec{info->OutputKey(k), info->cachemap, k, info->inputs};
    Status s = keys_->Add(rec, (*results)[static_cast<size_t>(k)]->ID());
    if (!s.ok()) log::Warn("record cache key for {}: {}", v.digest, s.message());
  }
  st->progress.Completed(false, Status::Ok());
  return results;
}

Status Solver::AcquireSlot(const Context& ctx) {
  bool woke = false;
  auto h = ctx.OnCancel([this, &woke](const Status&) {
    std::lock_guard<std::mutex> l(slot_mu_);
    woke = true;
    slot_cv_.notify_all();
  });
  std::unique_lock<std::mutex> l(slot_mu_);
  slot_cv_.wait(l, [&] { return slots_used_ < opts_.max_parallelism || woke; });
  if (woke) {
    l.unlock();
    return ctx.Err();
  }
  slots_used_++;
  return Status::Ok();
}

void Solver::ReleaseSlot() {
  std::lock_guard<std::mutex> l(slot_mu_);
  slots_used_--;
  slot_cv_.notify_one();
}

}  // namespace kiln::solver
