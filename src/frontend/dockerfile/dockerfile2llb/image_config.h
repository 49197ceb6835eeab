#pragma once
// The image config a Dockerfile build produces (the OCI image config JSON, with Docker's
// extra fields BuildKit writes: Shell, Healthcheck, OnBuild), edited instruction by instruction
// and handed to exporters as the result's "containerimage.config" metadata. Not thread-safe.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/platform.h"
#include "util/status.h"

namespace kiln::dockerfile {

class ImageConfig {
 public:
  // The config of FROM scratch (BuildKit's emptyImage): linux/amd64, the default PATH, WorkingDir
  // /.
  ImageConfig();
  // The same for another platform: its os, architecture and variant.
  explicit ImageConfig(const registry::Platform& platform);
  // A base image's config as the registry serves it.
  static Result<ImageConfig> FromJSON(std::string_view raw);

  // KEY=VALUE in order; Set replaces a key in place or appends it.
  std::vector<std::string> Env() const;
  std::optional<std::string> GetEnv(std::string_view key) const;
  void SetEnv(const std::string& key, const std::string& value);

  // The target platform of the build (BuildKit's Dockerfile2LLB with a platform option): os and
  // architecture, and the variant when it names one or os/architecture change.
  void SetPlatform(const registry::Platform& platform);

  std::string WorkingDir() const;
  void SetWorkingDir(const std::string& dir);
  std::string User() const;
  void SetUser(const std::string& user);
  std::vector<std::string> Shell() const;  // empty: the default /bin/sh -c
  void SetShell(const std::vector<std::string>& shell);
  void SetCmd(const std::vector<std::string>& cmd);
  // Also resets Cmd, as Docker does, unless the stage set Cmd itself (`keep_cmd`).
  void SetEntrypoint(const std::vector<std::string>& ep, bool keep_cmd);
  void SetLabel(const std::string& key, const std::string& value);
  void AddExposedPort(const std::string& port);  // "80/tcp"
  void AddVolume(const std::string& path);
  void SetStopSignal(const std::string& sig);
  void SetHealthcheck(nlohmann::json hc);  // {"Test": [...], "Interval": ns, ...}
  void AddOnBuild(const std::string& trigger);
  std::vector<std::string> OnBuild() const;
  void ClearOnBuild();
  void SetMaintainer(const std::string& author);

  // One history entry (BuildKit writes created_by "RUN /bin/sh -c ..." and "buildkit.dockerfile.v0"
  // as the comment); empty_layer for instructions that change only the config.
  void AddHistory(const std::string& created_by, bool empty_layer);
  // SOURCE_DATE_EPOCH: later history entries carry this time (unix seconds).
  void SetHistoryTime(std::optional<int64_t> unix_seconds) { history_time_ = unix_seconds; }
  // Whether the image has a layer (BuildKit treats one without as scratch).
  bool HasLayers() const;
  // The platform the config names (os, architecture, variant, os.version, os.features), when it
  // has both an os and an architecture.
  std::optional<registry::Platform> Platform() const;

  std::string Dump() const;  // compact JSON
  const nlohmann::json& raw() const { return j_; }

 private:
  nlohmann::json& Config();
  nlohmann::json j_;
  std::optional<int64_t> history_time_;
};

}  // namespace kiln::dockerfile
