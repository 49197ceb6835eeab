#pragma once
// The progress display of a build: picks the renderer for --progress (auto, plain, tty,
// rawjson, quiet), serialises updates from the Status reader and redraws on a 150 ms ticker
// (plain needs it too: a long-running step is re-shown after the anti-flicker delay).
// Thread-safe.

#include <memory>
#include <string_view>

#include "control/control.pb.h"
#include "util/status.h"

namespace kiln::client {

enum class ProgressMode { kAuto, kPlain, kTty, kRawJson, kQuiet };

Result<ProgressMode> ParseProgressMode(std::string_view s);

class ProgressDisplay {
 public:
  virtual ~ProgressDisplay() = default;
  virtual void Update(const moby::buildkit::v1::StatusResponse& resp) = 0;
  // Final print (and error summary); stops the ticker. Idempotent.
  virtual void Done() = 0;
};

// Writes to `fd` (stderr). auto = tty when `fd` is a terminal, plain otherwise; tty on a
// non-terminal is an error, as in buildctl.
Result<std::unique_ptr<ProgressDisplay>> NewProgressDisplay(ProgressMode mode, int fd);

}  // namespace kiln::client
