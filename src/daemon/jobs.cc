#include "daemon/jobs.h"

namespace kiln::daemon {

namespace {
constexpr auto kKeepFinished = std::chrono::minutes(5);
}

Result<std::shared_ptr<BuildJob>> JobRegistry::Create(const std::string& ref, Context ctx) {
  if (ref.empty()) return InvalidArgument("solve request has no ref");
  std::lock_guard<std::mutex> l(mu_);
  CollectLocked();
  auto it = jobs_.find(ref);
  if (it != jobs_.end() && !it->second.finished) {
    return AlreadyExists("a build with ref " + ref + " is already running");
  }
  auto j = std::make_shared<BuildJob>();
  j->ref = ref;
  j->ctx = std::move(ctx);
  jobs_[ref] = Entry{j, std::nullopt};
  cv_.notify_all();
  return j;
}

void JobRegistry::Finish(const std::shared_ptr<BuildJob>& j) {
  {
    std::lock_guard<std::mutex> jl(j->mu);
    j->done = true;
    // Release every ref the build held; only the progress stays for replay.
    j->results.clear();
    j->returned.reset();
    j->cv.notify_all();
  }
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(j->ref);
  if (it != jobs_.end() && it->second.job == j) it->second.finished = std::chrono::steady_clock::now();
}

Result<std::shared_ptr<BuildJob>> JobRegistry::Get(const Context& ctx, const std::string& ref,
                                                   std::chrono::milliseconds wait) {
  bool woke = false;
  auto h = ctx.OnCancel([this, &woke](const Status&) {
    std::lock_guard<std::mutex> l(mu_);
    woke = true;
    cv_.notify_all();
  });
  std::unique_lock<std::mutex> l(mu_);
  bool found = cv_.wait_for(l, wait, [&] { return jobs_.count(ref) > 0 || woke; });
  if (woke) {
    l.unlock();
    return ctx.Err();
  }
  if (!found) return NotFound("no such job " + ref);
  return jobs_.at(ref).job;
}

size_t JobRegistry::running() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [r, e] : jobs_) n += e.finished ? 0 : 1;
  return n;
}

void JobRegistry::CollectLocked() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    it = (it->second.finished && now - *it->second.finished > kKeepFinished) ? jobs_.erase(it)
                                                                             : std::next(it);
  }
}

}  // namespace kiln::daemon
