#include "solver/progress.h"

#include <algorithm>

namespace kiln::solver {

void ProgressBuffer::Write(ProgressEvent ev) {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return;
  events_.push_back(std::move(ev));
  cv_.notify_all();
}

void ProgressBuffer::Close() {
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  cv_.notify_all();
}

bool ProgressBuffer::Read(const Context& ctx, size_t* next, std::vector<ProgressEvent>* out) {
  bool woke = false;
  auto h = ctx.OnCancel([this, &woke](const kiln::Status&) {
    std::lock_guard<std::mutex> l(mu_);
    woke = true;
    cv_.notify_all();
  });
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return *next < events_.size() || closed_ || woke; });
  bool got = *next < events_.size();
  for (; *next < events_.size(); ++*next) out->push_back(events_[*next]);
  bool more = !(closed_ || woke);
  l.unlock();
  h.Reset();
  return more || got;
}

void ProgressFanout::Add(ProgressSink* sink) {
  std::lock_guard<std::mutex> l(mu_);
  sinks_.push_back(sink);
  if (!last_vertex_) return;
  VertexEvent v = *last_vertex_;
  if (v.completed && v.error.empty()) {
    // Joining a vertex that already finished: for this job its result comes from cache.
    v.cached = true;
    v.started = v.completed = std::chrono::system_clock::now();
  }
  sink->Write(std::move(v));
}

void ProgressFanout::Remove(ProgressSink* sink) {
  std::lock_guard<std::mutex> l(mu_);
  sinks_.erase(std::remove(sinks_.begin(), sinks_.end(), sink), sinks_.end());
}

void ProgressFanout::Write(ProgressEvent ev) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto* v = std::get_if<VertexEvent>(&ev)) last_vertex_ = *v;
  for (auto* s : sinks_) s->Write(ev);
}

void VertexProgress::Started() {
  std::lock_guard<std::mutex> l(mu_);
  if (v_.started && !v_.completed) return;
  // A vertex completed once (a source after resolving) starts again when it runs, as in BuildKit.
  v_.completed.reset();
  v_.cached = false;
  v_.error.clear();
  v_.started = std::chrono::system_clock::now();
  sink_->Write(v_);
}

void VertexProgress::Completed(bool cached, const kiln::Status& err) {
  std::lock_guard<std::mutex> l(mu_);
  auto now = std::chrono::system_clock::now();
  if (!v_.started) v_.started = now;
  v_.completed = now;
  v_.cached = cached;
  if (!err.ok()) {
    v_.error = err.code() == Code::kCancelled ? err.message() + ": context canceled" : err.message();
    if (err.message().find("context canceled") != std::string::npos) v_.error = err.message();
  }
  sink_->Write(v_);
}

void VertexProgress::Log(int stream, std::string data) {
  Started();
  sink_->Write(LogEvent{v_.digest, stream, std::move(data), std::chrono::system_clock::now()});
}

void VertexProgress::Status(const std::string& id, int64_t current, int64_t total, bool done) {
  Started();
  auto now = std::chrono::system_clock::now();
  StatusEvent ev;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!status_started_) status_started_ = now;
    ev.started = status_started_;
  }
  ev.id = id;
  ev.vertex = v_.digest;
  ev.current = current;
  ev.total = total;
  ev.timestamp = now;
  if (done) ev.completed = now;
  sink_->Write(std::move(ev));
}

}  // namespace kiln::solver
