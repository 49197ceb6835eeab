#include "client/progress_plain.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "client/go_format.h"

namespace kiln::client::progress {

namespace {

constexpr Nanos kSecond = 1000000000;
constexpr Nanos kAntiFlicker = 5 * kSecond;
constexpr Nanos kMaxDelay = 10 * kSecond;
constexpr Nanos kMinTimeDelta = 5 * kSecond;
constexpr double kMinProgressDelta = 0.05;

std::string LimitString(const std::string& s, size_t limit) {
  if (s.size() > limit) return s.substr(0, limit) + "...";
  return s;
}

}  // namespace

void PlainPrinter::Update(const moby::buildkit::v1::StatusResponse& resp) {
  trace_.Update(resp);
  Print();
}

void PlainPrinter::Refresh() { Print(); }

void PlainPrinter::Done() {
  Print();
  std::string logs = trace_.ErrorLogs(/*all_logs=*/false);
  if (!logs.empty()) sink_(logs);
}

void PlainPrinter::PrintStatuses(VertexState* v, bool* open_status) {
  for (StatusLine* s : v->statuses) {
    if (!v->status_updates.contains(s->id)) continue;
    if (auto it = last_.find(s->id); it != last_.end() && !s->completed) {
      double progress_delta = 0;
      if (s->total > 0) {
        progress_delta =
            static_cast<double>(s->current - it->second.current) / static_cast<double>(s->total);
      }
      Nanos time_delta = s->timestamp - it->second.timestamp;
      if (progress_delta < kMinProgressDelta && time_delta < kMinTimeDelta) continue;
    }
    last_[s->id] = LastStatus{s->current, s->timestamp};

    std::string bytes;
    if (s->total != 0) {
      bytes = fmt::format(" {} / {}", FormatBytes(s->current), FormatBytes(s->total));
    } else if (s->current != 0) {
      bytes = " " + FormatBytes(s->current);
    }
    std::string tm;
    Nanos end = s->completed.value_or(s->timestamp);
    if (s->started) {
      double diff = static_cast<double>(end - *s->started) / 1e9;
      if (diff > 0.01) tm = fmt::format(" {:.1f}s", diff);
    }
    if (s->completed) {
      tm += " done";
    } else {
      *open_status = true;
    }
    out_ += fmt::format("#{} {}{}{}\n", v->index, s->id, bytes, tm);
  }
  v->status_updates.clear();
}

void PlainPrinter::PrintLogs(VertexState* v) {
  for (size_t i = 0; i < v->logs.size(); ++i) {
    const std::string& line = v->logs[i];
    if (i == 0 && v->logs_offset != 0) {  // "#N " and the start were printed already
      out_ += line.substr(std::min(v->logs_offset, line.size()));
    } else {
      out_ += fmt::format("#{} {}", v->index, line);
    }
    bool finished = i != v->logs.size() - 1 || !v->logs_partial;
    if (finished) {
      out_ += "\n";
      v->logs_buffer.push_back(line);
      if (v->logs_buffer.size() > kLogsBufferSize) v->logs_buffer.pop_front();
    }
  }
  if (v->logs.empty()) return;
  if (v->logs_partial) {
    std::string last = std::move(v->logs.back());
    v->logs.assign(1, std::move(last));
    v->logs_offset = v->logs[0].size();
  } else {
    v->logs.clear();
    v->logs_offset = 0;
  }
}

void PlainPrinter::PrintVertex(const std::string& digest) {
  VertexState* v = trace_.Find(digest);
  if (v == nullptr) return;
  if (v->index == 0) v->index = ++next_index_;

  if (digest != current_) {
    if (!current_.empty()) {
      VertexState* old = trace_.Find(current_);
      if (old->logs_partial) out_ += "\n";
      old->logs_offset = 0;
      old->count = 0;
      out_ += fmt::format("#{} ...\n", old->index);
    }
    if (not_first_) {
      out_ += "\n";
    } else {
      not_first_ = true;
    }
    out_ += fmt::format("#{} {}\n", v->index, truncate_names_ ? LimitString(v->name, 72) : v->name);
  }

  bool open_status = false;
  PrintStatuses(v, &open_status);
  for (; v->warning_idx < v->warnings.size(); ++v->warning_idx) {
    out_ += fmt::format("#{} WARN: {}\n", v->index, v->warnings[v->warning_idx].short_msg);
  }
  PrintLogs(v);

  current_ = digest;
  if (v->IsCompleted() && !open_status) {
    current_.clear();
    v->count = 0;
    if (v->logs_partial) out_ += "\n";
    if (!v->error.empty()) {
      if (v->IsCanceled()) {
        out_ += fmt::format("#{} CANCELED\n", v->index);
      } else {
        out_ += fmt::format("#{} ERROR: {}\n", v->index, v->error);
      }
    } else if (v->cached) {
      out_ += fmt::format("#{} CACHED\n", v->index);
    } else {
      std::string tm;
      if (!v->merged.empty()) {
        tm = fmt::format(" {:.1f}s", static_cast<double>(v->Duration(trace_.Now())) / 1e9);
      }
      out_ += fmt::format("#{} DONE{}\n", v->index, tm);
    }
  }
  trace_.updates().erase(digest);
}

void PlainPrinter::Print() {
  // Split the changed vertexes (in first-seen order, for determinism) into completed and rest.
  std::vector<VertexState*> completed;
  std::vector<VertexState*> rest;
  for (VertexState* v : trace_.all()) {
    if (!trace_.updates().contains(v->digest)) continue;
    (v->IsCompleted() ? completed : rest).push_back(v);
  }
  auto contains = [](const std::vector<VertexState*>& vs, const std::string& d) {
    return std::any_of(vs.begin(), vs.end(), [&](VertexState* v) { return v->digest == d; });
  };
  const std::string current = current_;

  // Completed vertexes first: the open one, then by completion time.
  if (contains(completed, current)) PrintVertex(current);
  std::stable_sort(completed.begin(), completed.end(), [](VertexState* a, VertexState* b) {
    return *a->merged.back().stop < *b->merged.back().stop;
  });
  for (VertexState* v : completed) {
    if (v->digest != current) PrintVertex(v->digest);
  }

  if (rest.empty()) {
    if (!current.empty()) {
      VertexState* v = trace_.Find(current);
      if (v != nullptr && v->IsStarted() && !v->IsCompleted()) {
        if (!out_.empty()) sink_(out_);
        out_.clear();
        return;
      }
    }
    for (VertexState* v : trace_.all()) {  // make any open vertex active
      if (v->IsStarted() && !v->IsCompleted()) {
        PrintVertex(v->digest);
        break;
      }
    }
    if (!out_.empty()) sink_(out_);
    out_.clear();
    return;
  }

  if (contains(rest, current)) PrintVertex(current);

  // Choose which running vertex to show, as upstream: the busiest, unless the current one has
  // had the screen for less than its fair share or another has been hidden for too long.
  struct Stat {
    Nanos block_time = 0;
    double speed = 0;
    double share = 0;
    bool over_limit = false;
  };
  std::map<std::string, Stat> stats;
  Nanos now = trace_.Now();
  double sum = 0;
  std::string max;
  std::vector<VertexState*> candidates = rest;
  if (!current.empty() && !contains(rest, current)) {
    if (VertexState* cv = trace_.Find(current); cv != nullptr) candidates.push_back(cv);
  }
  for (VertexState* v : candidates) {
    if (!v->last_block_time) continue;
    Nanos tm = std::max<Nanos>(now - *v->last_block_time, 1);
    Stat st;
    st.block_time = tm;
    st.speed = static_cast<double>(v->count) / (static_cast<double>(tm) / 1e9);
    st.over_limit = tm > kMaxDelay && v->digest != current;
    sum += st.speed;
    stats[v->digest] = st;
    if (st.over_limit || max.empty() || stats[max].speed < st.speed) max = v->digest;
  }
  for (auto& [_, st] : stats) st.share = sum > 0 ? st.speed / sum : 0;

  if (contains(completed, current) || current.empty()) {
    PrintVertex(max);
  } else {
    bool printed = false;
    for (VertexState* v : rest) {
      auto it = stats.find(v->digest);
      if (it != stats.end() && it->second.over_limit) {
        PrintVertex(v->digest);
        printed = true;
        break;
      }
    }
    auto cur = stats.find(current);
    if (!printed && cur != stats.end()) {
      double fair = 1.0 / (1.0 - cur->second.share) * (static_cast<double>(kAntiFlicker) / 1e9);
      if (fair < static_cast<double>(cur->second.block_time) / 1e9) PrintVertex(max);
    }
  }
  if (!out_.empty()) sink_(out_);
  out_.clear();
}

}  // namespace kiln::client::progress
