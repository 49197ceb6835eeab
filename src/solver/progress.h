#pragma once
// Progress events of a job (vertices, sub-statuses, logs, warnings) and the buffer the daemon's
// Status stream reads from. The buffer keeps every event so a late reader replays the whole build.
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "util/context.h"

namespace kiln::solver {

using TimePoint = std::chrono::system_clock::time_point;

struct VertexEvent {
  std::string digest;
  std::string name;
  std::vector<std::string> inputs;
  bool cached = false;
  std::optional<TimePoint> started;
  std::optional<TimePoint> completed;
  std::string error;
};

struct StatusEvent {
  std::string id;      // e.g. "transferring context:"
  std::string vertex;  // vertex digest
  std::string name;
  int64_t current = 0;
  int64_t total = 0;
  TimePoint timestamp;
  std::optional<TimePoint> started;
  std::optional<TimePoint> completed;
};

struct LogEvent {
  std::string vertex;
  int stream = 1;  // 1 stdout, 2 stderr
  std::string data;
  TimePoint timestamp;
};

// A warning about a vertex (BuildKit's VertexWarning), e.g. a Dockerfile check: a short text,
// details, a link, and the lines of a source file it is about.
struct WarningEvent {
  struct Position {
    int line = 0;  // 1-based
    int character = 0;
  };
  struct Range {
    Position start;
    Position end;
  };
  struct Source {
    std::string filename;
    std::string data;  // the whole file
    std::string language;
  };
  std::string vertex;  // digest of the vertex it is attached to
  int64_t level = 1;
  std::string short_msg;
  std::vector<std::string> detail;
  std::string url;
  std::optional<Source> source;
  std::vector<Range> ranges;
};

using ProgressEvent = std::variant<VertexEvent, StatusEvent, LogEvent, WarningEvent>;

// Where ops and the solver write progress.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void Write(ProgressEvent ev) = 0;
};

class ProgressBuffer : public ProgressSink {
 public:
  void Write(ProgressEvent ev) override;
  // Marks the end of the job; readers drain and stop.
  void Close();
  // Copies events from index `*next` on into `out`, waiting until there is at least one, the
  // buffer is closed, or ctx is cancelled. Returns false when closed and fully read.
  bool Read(const Context& ctx, size_t* next, std::vector<ProgressEvent>* out);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ProgressEvent> events_;
  bool closed_ = false;
};

// Fans one event out to several sinks (a vertex shared by several jobs reports to all of them).
class ProgressFanout : public ProgressSink {
 public:
  void Add(ProgressSink* sink);
  void Remove(ProgressSink* sink);
  void Write(ProgressEvent ev) override;

 private:
  std::mutex mu_;
  std::vector<ProgressSink*> sinks_;
  std::optional<VertexEvent> last_vertex_;  // replayed to sinks that join later
};

// Progress helpers for one vertex: emits the vertex as started on first use.
class VertexProgress {
 public:
  VertexProgress(ProgressSink* sink, VertexEvent base) : sink_(sink), v_(std::move(base)) {}
  void Started();
  void Completed(bool cached, const Status& err);
  void Log(int stream, std::string data);
  // A sub-status line (id such as "transferring context:"); done marks it completed.
  void Status(const std::string& id, int64_t current, int64_t total, bool done);
  const std::string& digest() const { return v_.digest; }
  bool completed() {
    std::lock_guard<std::mutex> l(mu_);
    return v_.completed.has_value();
  }

 private:
  std::mutex mu_;
  ProgressSink* sink_;
  VertexEvent v_;
  std::optional<TimePoint> status_started_;
};

}  // namespace kiln::solver
