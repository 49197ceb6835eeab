#pragma once
// The image config JSON (OCI image-spec config.md, Docker's container.image.v1): platform,
// the runtime config (Env, Cmd, Entrypoint, ...), rootfs diff IDs and history. The raw bytes
// are kept: the image's config digest is over them, and exporters re-emit fields kiln does not
// model. Validation errors are InvalidArgument naming the image and the field.
// Value types and pure functions; thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/platform.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::registry {

struct HealthConfig {
  std::vector<std::string> test;  // ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int64_t retries = 0;
};

// The "config" object: what a container of the image runs with.
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;              // "80/tcp"
  std::vector<std::string> env;                        // "KEY=value"
  std::optional<std::vector<std::string>> entrypoint;  // null and [] differ for the frontend
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> shell;
  std::vector<std::string> on_build;
  bool args_escaped = false;  // Windows only
};

struct HistoryEntry {
  std::string created;  // RFC 3339
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  std::string created;
  std::string author;
  ContainerConfig config;
  std::string rootfs_type;       // "layers"
  std::vector<Digest> diff_ids;  // digests of the uncompressed layers, base first
  std::vector<HistoryEntry> history;
  std::string raw;  // the bytes parsed

  Platform platform() const;
};

// Parses a config blob; `name` (the image) prefixes errors.
Result<ImageConfig> ParseImageConfig(std::string_view bytes, std::string_view name);

}  // namespace kiln::registry
