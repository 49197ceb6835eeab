#include "client/progress_trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace kiln::client::progress {

namespace {

std::optional<Nanos> ToNanos(bool has, const google::protobuf::Timestamp& ts) {
  if (!has) return std::nullopt;
  return ts.seconds() * 1000000000 + ts.nanos();
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Nanos SystemNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<Interval> MergeIntervals(std::vector<Interval> intervals) {
  if (intervals.empty()) return {};
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::vector<Interval> merged;
  Interval cur = intervals[0];
  for (size_t i = 1; i < intervals.size(); ++i) {
    const Interval& next = intervals[i];
    if (!cur.stop) {  // never stops: swallows everything after it
      merged.push_back(cur);
      return merged;
    }
    if (*cur.stop < next.start) {
      merged.push_back(cur);
      cur = next;
      continue;
    }
    if (!next.stop) {
      merged.push_back(Interval{cur.start, std::nullopt});
      return merged;
    }
    if (*cur.stop >= *next.stop) continue;  // cur subsumes next
    cur.stop = next.stop;
  }
  merged.push_back(cur);
  return merged;
}

bool VertexState::IsCanceled() const { return EndsWith(error, "context canceled"); }

Nanos VertexState::Duration(Nanos now) const {
  Nanos total = 0;
  for (const Interval& ival : merged) total += ival.stop.value_or(now) - ival.start;
  return total;
}

VertexState* Trace::Find(const std::string& digest) {
  auto it = by_digest_.find(digest);
  return it == by_digest_.end() ? nullptr : it->second.get();
}

void Trace::Touch(VertexState* v) {
  if (v->count == 0) v->last_block_time = clock_();
  v->count++;
}

void Trace::UpdateVertex(const moby::buildkit::v1::Vertex& msg) {
  std::optional<Nanos> started = ToNanos(msg.has_started(), msg.started());
  std::optional<Nanos> completed = ToNanos(msg.has_completed(), msg.completed());
  if (!start_time_ && started) start_time_ = started;

  VertexState* v = Find(msg.digest());
  bool was_started = v != nullptr && v->IsStarted();
  bool is_new = v == nullptr;
  if (is_new) {
    auto owned = std::make_unique<VertexState>();
    v = owned.get();
    v->digest = msg.digest();
    by_digest_.emplace(msg.digest(), std::move(owned));
    all_.push_back(v);
  }

  // Change detection only for messages that carry a start time, as upstream.
  if (started) {
    bool changed = !v->prev.has_value() || v->prev->name != msg.name() ||
                   v->prev->started != started || (completed && v->prev->completed != completed) ||
                   v->prev->cached != msg.cached() || v->prev->error != msg.error();
    if (changed) {
      Touch(v);
      updates_.insert(msg.digest());
    }
    v->prev = VertexState::Prev{msg.name(), started, completed, msg.cached(), msg.error()};
    if (!was_started) started_.push_back(v);
  }
  // A repeated initial (unstarted) vertex must not reset a started one.
  if (is_new || !was_started || started) {
    v->name = msg.name();
    v->cached = msg.cached();
    v->error = msg.error();
    v->started = started;
    v->completed = completed;
  }
  if (started) {
    v->intervals[*started] = Interval{*started, completed};
    std::vector<Interval> all;
    for (const auto& [_, ival] : v->intervals) all.push_back(ival);
    v->merged = MergeIntervals(std::move(all));
  }
}

void Trace::AddLog(VertexState* v, const moby::buildkit::v1::VertexLog& l) {
  const std::string& data = l.msg();
  if (data.empty()) return;
  Nanos ts = l.timestamp().seconds() * 1000000000 + l.timestamp().nanos();
  size_t pos = 0;
  bool first = true;
  bool complete = false;
  while (true) {
    if (pos >= data.size()) {
      complete = true;
      break;
    }
    size_t nl = data.find('\n', pos);
    std::string_view line =
        std::string_view(data).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (v->logs_partial && !v->logs.empty() && first) {
      v->logs.back().append(line);
    } else {
      double sec = 0;
      if (v->IsStarted()) sec = static_cast<double>(ts - v->merged.back().start) / 1e9;
      int prec = sec < 10 ? 3 : (sec < 100 ? 2 : 1);
      v->logs.push_back(fmt::format("{:.{}f} {}", sec, prec, line));
    }
    first = false;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  v->logs_partial = !complete;
}

void Trace::Update(const moby::buildkit::v1::StatusResponse& resp) {
  for (const auto& v : resp.vertexes()) UpdateVertex(v);
  for (const auto& s : resp.statuses()) {
    VertexState* v = Find(s.vertex());
    if (v == nullptr) continue;  // the daemon sends the vertex first
    auto& slot = v->by_id[s.id()];
    bool had_started = slot != nullptr && slot->started.has_value();
    if (slot == nullptr) slot = std::make_unique<StatusLine>();
    slot->id = s.id();
    slot->name = s.name();
    slot->current = s.current();
    slot->total = s.total();
    slot->timestamp = s.timestamp().seconds() * 1000000000 + s.timestamp().nanos();
    slot->started = ToNanos(s.has_started(), s.started());
    slot->completed = ToNanos(s.has_completed(), s.completed());
    if (slot->started && !had_started) v->statuses.push_back(slot.get());
    v->status_updates.insert(s.id());
    updates_.insert(v->digest);
    Touch(v);
  }
  for (const auto& w : resp.warnings()) {
    VertexState* v = Find(w.vertex());
    if (v == nullptr) continue;
    v->warnings.push_back(VertexState::Warning{w.short_()});
    Touch(v);
  }
  for (const auto& l : resp.logs()) {
    VertexState* v = Find(l.vertex());
    if (v == nullptr) continue;
    AddLog(v, l);
    updates_.insert(v->digest);
    Touch(v);
  }
}

std::string Trace::ErrorLogs(bool all_logs) const {
  std::string out;
  for (const VertexState* v : started_) {
    if (v->error.empty() || v->IsCanceled()) continue;
    out += "------\n";
    out += fmt::format(" > {}:\n", v->name);
    if (all_logs) {
      for (const std::string& l : v->logs) out += l + "\n";
    } else {
      for (const std::string& l : v->logs_buffer) out += l + "\n";
      if (v->logs_partial && !v->logs.empty()) out += v->logs.back() + "\n";
    }
    out += "------\n";
  }
  return out;
}

}  // namespace kiln::client::progress
