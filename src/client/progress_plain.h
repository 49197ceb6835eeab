#pragma once
// buildctl's --progress=plain rendering (progressui's textMux), fed with StatusResponses:
//
//   #1 [internal] load build definition from Dockerfile
//   #1 transferring dockerfile: 95B done
//   #1 DONE 0.0s
//
//   #4 [2/2] RUN echo hi
//   #4 0.213 hi
//   #4 DONE 0.3s
//
// Blocks are separated by a blank line; #N is assigned in order of first print; a block that is
// interrupted by another vertex ends with "#N ...". Text goes to `sink`; the clock (for the
// anti-flicker rules and open intervals) is injected. Not thread-safe.

#include <map>
#include <string>
#include <string_view>

#include "client/progress_trace.h"

namespace kiln::client::progress {

using Sink = std::function<void(std::string_view)>;

class PlainPrinter {
 public:
  // `truncate_names`: cut names to 72 characters (PROGRESS_NO_TRUNC=0).
  PlainPrinter(Sink sink, Clock clock = SystemNow, bool truncate_names = false)
      : trace_(clock), sink_(std::move(sink)), truncate_names_(truncate_names) {}

  void Update(const moby::buildkit::v1::StatusResponse& resp);
  // Prints what changed since the last print (called periodically too).
  void Refresh();
  // The final print and the error summary.
  void Done();

 private:
  struct LastStatus {
    int64_t current = 0;
    Nanos timestamp = 0;
  };

  void Print();
  void PrintVertex(const std::string& digest);
  void PrintStatuses(VertexState* v, bool* open_status);
  void PrintLogs(VertexState* v);

  Trace trace_;
  Sink sink_;
  bool truncate_names_;
  std::string out_;      // text of the current Print, flushed to sink_ at its end
  std::string current_;  // digest of the vertex whose block is open
  std::map<std::string, LastStatus> last_;
  bool not_first_ = false;
  int next_index_ = 0;
};

}  // namespace kiln::client::progress
