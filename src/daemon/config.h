#pragma once
// kilnd's configuration: flags over a TOML file in buildkitd.toml's shape (root, [grpc],
// [worker.oci], [registry."host"], GC policies). Parse errors name the file, line and key.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace kiln::daemon {

struct GCPolicy {
  bool all = false;
  int64_t keep_duration_s = 0;
  int64_t keep_bytes = 0;
  std::vector<std::string> filters;
};

struct RegistryConfig {
  std::vector<std::string> mirrors;
  bool http = false;
  bool insecure = false;
  std::vector<std::string> ca;
  // kiln extension (buildkitd.toml has no such keys): credentials the daemon uses for this
  // registry when the client's session offers none.
  std::string username;
  std::string password;
};

struct Config {
  std::string root = "/var/lib/kiln";
  std::vector<std::string> addresses;  // empty: the default socket
  bool debug = false;
  // [worker.oci]
  std::string snapshotter = "auto";
  int max_parallelism = 0;  // 0: number of CPUs
  bool gc = true;
  int64_t gc_keep_storage = 0;  // bytes; 0: 10% of the disk, as BuildKit
  std::vector<GCPolicy> gc_policies;
  std::string runtime = "runc";
  // networkMode, cniConfigPath, cniBinaryPath (worker::WorkerOptions has the defaults)
  std::string network_mode = "auto";
  std::string cni_config_path = "/etc/buildkit/cni.json";
  std::string cni_binary_path = "/opt/cni/bin:/usr/lib/cni";
  std::map<std::string, RegistryConfig> registries;
  std::vector<std::string> entitlements;  // insecure-entitlements
};

// Parses TOML text; `name` is used in error messages. Unknown keys are reported in `warnings`.
Result<Config> ParseConfig(const std::string& text, const std::string& name,
                           std::vector<std::string>* warnings);
Result<Config> LoadConfigFile(const std::string& path, std::vector<std::string>* warnings);

// The default socket address: unix:///run/kiln/kilnd.sock as root, else under XDG_RUNTIME_DIR.
std::string DefaultAddress();
// The default root: /var/lib/kiln as root, else $XDG_DATA_HOME/kiln (~/.local/share/kiln).
std::string DefaultRoot();

}  // namespace kiln::daemon
