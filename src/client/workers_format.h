#pragma once
// Text output of `kilnctl debug workers`, as buildctl prints it: a tabwriter table
// "ID  PLATFORMS" or, with --verbose, one block per worker with its platforms, version, labels
// (sorted) and GC policy. Stateless.

#include <string>

#include "control/control.pb.h"
#include "pb/ops.pb.h"

namespace kiln::client {

// containerd's platforms.Format of a normalized platform: "linux/amd64", "linux/arm/v7".
std::string FormatPlatform(const pb::Platform& p);

std::string FormatWorkers(const moby::buildkit::v1::ListWorkersResponse& resp, bool verbose);

}  // namespace kiln::client
