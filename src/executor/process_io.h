#pragma once
// Runs one runtime process (`runc run`) to its end on the calling thread: stdin written from
// memory, stdout and stderr handed to Stdio as they arrive (one poll loop, no extra threads),
// and on cancellation a caller-supplied kill retried until it takes. Thread-safe (no shared
// state).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "executor/executor.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::executor {

struct ProcessIOOptions {
  // Called on this thread once `ctx` is cancelled, and again every retry_interval while it
  // returns false and the process is still running (the runtime may not have created the
  // container yet). After kill_timeout without success the process itself gets SIGKILL.
  std::function<bool()> kill;
  std::chrono::milliseconds retry_interval{50};
  std::chrono::milliseconds kill_timeout{10000};
  // Called once the process has exited while its output pipes are still open after
  // drain_grace (something in the container outlived it); output is then read for at most
  // another drain_grace before the pipes are closed.
  std::function<void()> on_stuck_output;
  std::chrono::milliseconds drain_grace{2000};
};

// Starts argv and returns its exit code (128+signal when killed by a signal), whether or not
// `ctx` was cancelled; callers check ctx themselves.
Result<int> RunProcessIO(const Context& ctx, const std::vector<std::string>& argv,
                         const Stdio& stdio, const ProcessIOOptions& opts);

}  // namespace kiln::executor
