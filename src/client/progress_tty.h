#pragma once
// --progress=tty: a redrawing summary of the build on a terminal, modelled on progressui's
// console display but kept small: a "[+] Building 1.2s (3/5)" header and one line per started
// vertex (with CACHED/ERROR prefixes, status lines under it and the time on the right). While
// the build runs only the last lines that fit the terminal are shown; Done draws everything
// once more and prints the error summary with the failed steps' logs. Not thread-safe.

#include <functional>
#include <string>
#include <utility>

#include "client/progress_plain.h"
#include "client/progress_trace.h"

namespace kiln::client::progress {

// Terminal columns and rows.
using SizeFn = std::function<std::pair<int, int>()>;

class TtyPrinter {
 public:
  TtyPrinter(Sink sink, SizeFn size, Clock clock = SystemNow)
      : trace_(clock), sink_(std::move(sink)), size_(std::move(size)) {}

  void Update(const moby::buildkit::v1::StatusResponse& resp);
  void Refresh();
  void Done();

 private:
  struct Job {
    std::string name;
    std::string status;
    Nanos duration = 0;
    bool completed = false;
    bool canceled = false;
    bool error = false;
  };

  std::vector<Job> Jobs(Nanos now) const;
  void Draw(bool final);

  Trace trace_;
  Sink sink_;
  SizeFn size_;
  int line_count_ = 0;  // job lines drawn last time (the header not included)
  bool drawn_ = false;
  Nanos last_draw_ = 0;
};

}  // namespace kiln::client::progress
