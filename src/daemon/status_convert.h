#pragma once
// Solver progress events -> moby.buildkit.v1.StatusResponse entries (wire-protocol.md §1.3, §5).

#include "control/control.pb.h"
#include "solver/progress.h"

namespace kiln::daemon {

void AppendEvent(const solver::ProgressEvent& ev, moby::buildkit::v1::StatusResponse* resp);

}  // namespace kiln::daemon
