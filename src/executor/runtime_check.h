#pragma once
// Start-up checks of an OCI runtime CLI: where it is, what it is, and whether it can start a
// container on this host's cgroup layout. Thread-safe.

#include <string>

#include "util/status.h"

namespace kiln::executor {

// `bin` itself when it contains a '/', else the first executable `bin` in $PATH.
Result<std::string> LookPath(const std::string& bin);

struct CgroupLayout {
  // v1 controllers on a tmpfs at /sys/fs/cgroup with cgroup2 at /sys/fs/cgroup/unified.
  bool hybrid = false;
  std::string unified_controllers;  // cgroup.controllers of that cgroup2, trimmed
};

CgroupLayout DetectCgroupLayout();

// OK when the runtime (by its `--version` output) can start containers under `layout`.
// crun (checked with 1.8.1) refuses hybrid layouts whose cgroup2 has any controller: "cgroups
// in hybrid mode not supported, drop all controllers from cgroupv2"; that is FailedPrecondition
// here, with the reason.
Status CheckRuntimeSupports(const std::string& version_output, const CgroupLayout& layout);

// True when the `--version` output is crun's.
bool IsCrun(const std::string& version_output);

}  // namespace kiln::executor
