#pragma once
// OCI runtime spec (config.json) for one step, with the defaults of BuildKit's OCI worker
// (executor/oci/spec.go over containerd's default Unix spec). Pure: everything it needs about
// the host comes in SpecOptions, so tests compare whole specs. Thread-safe.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "executor/executor.h"
#include "executor/user.h"
#include "util/status.h"

namespace kiln::executor {

struct SpecOptions {
  std::string id;          // container id
  UserIds user;            // resolved from the rootfs
  std::string hosts_path;  // host files bind-mounted read-only at /etc/hosts, /etc/resolv.conf
  std::string resolv_conf_path;
  std::string default_netns;  // RuntimeOptions::default_netns
  // security.insecure: the daemon's capabilities, and how many /dev/loopN nodes to add
  // (BuildKit: up to the first free loop device + 7).
  std::vector<std::string> insecure_caps;
  int insecure_loop_devices = 8;
};

// The cgroupsPath for `cgroup_parent` as BuildKit forms it: "<slice>:<id>" for a systemd
// "x.slice:" parent, else "/<parent>/buildkit/<id>"; "" (the runtime's default) when no parent.
std::string CgroupsPath(const std::string& cgroup_parent, const std::string& id);

// RLIMIT_<NAME> for an ExecOp ulimit name ("nofile" → "RLIMIT_NOFILE"); InvalidArgument naming
// it when unknown.
Result<std::string> RlimitType(const std::string& name);

Result<nlohmann::json> GenerateSpec(const RunRequest& req, const SpecOptions& opts);

}  // namespace kiln::executor
