#pragma once
// The client's model of a build's progress, fed with Control.Status responses: vertexes with
// their start/stop intervals, status lines (latest value per ID), log lines prefixed with the
// seconds since the vertex started, warnings. The plain and tty renderers read it; it mirrors
// BuildKit's progressui trace (wire-protocol.md §5). Progress groups are not merged: grouped
// vertexes show as ordinary ones. Not thread-safe.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/control.pb.h"

namespace kiln::client::progress {

using Nanos = int64_t;  // unix time in nanoseconds

inline constexpr size_t kLogsBufferSize = 10;  // log lines kept for the error summary
using Clock = std::function<Nanos()>;

// The system clock as Nanos.
Nanos SystemNow();

struct Interval {
  Nanos start = 0;
  std::optional<Nanos> stop;
};

// Sums durations after merging overlapping intervals; an open interval lasts until `now`.
std::vector<Interval> MergeIntervals(std::vector<Interval> intervals);

struct StatusLine {
  std::string id;
  std::string name;
  int64_t current = 0;
  int64_t total = 0;
  Nanos timestamp = 0;
  std::optional<Nanos> started;
  std::optional<Nanos> completed;
};

struct VertexState {
  // From the latest Vertex message.
  std::string digest;
  std::string name;
  bool cached = false;
  std::string error;
  std::optional<Nanos> started;
  std::optional<Nanos> completed;

  // The previous Vertex message that had `started` (change detection).
  struct Prev {
    std::string name;
    std::optional<Nanos> started;
    std::optional<Nanos> completed;
    bool cached = false;
    std::string error;
  };
  std::optional<Prev> prev;

  std::vector<StatusLine*> statuses;  // in order of first start; point into by_id
  std::map<std::string, std::unique_ptr<StatusLine>> by_id;
  std::set<std::string> status_updates;

  int index = 0;  // #N, assigned by the printer on first print

  std::vector<std::string> logs;        // "0.213 text" lines not yet printed
  bool logs_partial = false;            // the last line has no '\n' yet
  size_t logs_offset = 0;               // bytes of logs[0] already printed
  std::deque<std::string> logs_buffer;  // the last printed lines, for the error summary

  std::optional<Nanos> last_block_time;
  int count = 0;

  struct Warning {
    std::string short_msg;
  };
  std::vector<Warning> warnings;
  size_t warning_idx = 0;

  std::map<Nanos, Interval> intervals;  // keyed by start
  std::vector<Interval> merged;

  bool IsStarted() const { return !merged.empty(); }
  bool IsCompleted() const { return IsStarted() && merged.back().stop.has_value(); }
  bool IsCanceled() const;
  // Total time spent in the merged intervals (open ones until `now`).
  Nanos Duration(Nanos now) const;
};

class Trace {
 public:
  explicit Trace(Clock clock = SystemNow) : clock_(std::move(clock)) {}

  void Update(const moby::buildkit::v1::StatusResponse& resp);

  VertexState* Find(const std::string& digest);
  // Every vertex, in the order it was first seen.
  const std::vector<VertexState*>& all() const { return all_; }
  // Vertexes in the order they started.
  const std::vector<VertexState*>& started() const { return started_; }
  // Digests changed since the printer last showed them.
  std::set<std::string>& updates() { return updates_; }
  std::optional<Nanos> start_time() const { return start_time_; }
  Nanos Now() const { return clock_(); }

  // The "------ > name: ... ------" blocks for failed vertexes. `all_logs` (tty) shows every
  // log line; otherwise the last printed ones.
  std::string ErrorLogs(bool all_logs) const;

 private:
  void UpdateVertex(const moby::buildkit::v1::Vertex& v);
  void AddLog(VertexState* v, const moby::buildkit::v1::VertexLog& l);
  void Touch(VertexState* v);

  Clock clock_;
  std::map<std::string, std::unique_ptr<VertexState>> by_digest_;
  std::vector<VertexState*> all_;
  std::vector<VertexState*> started_;
  std::set<std::string> updates_;
  std::optional<Nanos> start_time_;
};

}  // namespace kiln::client::progress
