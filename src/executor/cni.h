#pragma once
// CNI networking for steps (BuildKit's util/network/cniprovider over containerd's go-cni): each
// run gets a network namespace of its own, set up by the loopback plugin ("lo") and the plugins
// of one network config file ("eth0"), and torn down (DEL in reverse order, unmount, remove)
// when the run ends.

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::executor {

// A parsed network config: a single plugin (`.conf`/`.json`: an object with `type`) or a list
// (`.conflist`: an object with `plugins`), as libcni chooses by the file name.
struct CniConfig {
  std::string path;  // the file, for messages
  std::string name;
  std::string cni_version;
  bool is_list = false;
  std::vector<nlohmann::json> plugins;  // each has a string `type`
};

// Validates `data` (the content of `path`); errors name the file and the field.
Result<CniConfig> ParseCniConfig(std::string_view data, const std::string& path);
Result<CniConfig> LoadCniConfig(const std::string& path);

// The bytes a plugin gets on stdin: the plugin's config, in a list with the list's name and
// cniVersion added, and `prev_result` (when not null) as prevResult.
std::string CniPluginStdin(const CniConfig& c, size_t i, const nlohmann::json& prev_result);

// A plugin's failure as a user reads it: its JSON error ({code, msg, details}) when it wrote
// one, else its stderr/stdout, naming the plugin, the command and the network.
Status CniPluginError(const std::string& plugin, const std::string& command,
                      const std::string& network, int exit_code, const std::string& out,
                      const std::string& err);

// "a:b:c" → {"a", "b", "c"}, empty entries dropped (the CNI_PATH form).
std::vector<std::string> SplitCniPath(std::string_view dirs);

struct CniOptions {
  std::string config_path;
  std::vector<std::string> binary_dirs;  // searched in order for plugin binaries
  std::string state_dir;                 // netns files live in <state_dir>/<id>
};

class CniNetwork;

// One run's network namespace. Move-only RAII handle (copying would tear the namespace down
// twice): the destructor runs DEL for every plugin that was set up, unmounts and removes the
// netns file.
class CniNamespace {
 public:
  CniNamespace(const CniNamespace&) = delete;
  CniNamespace& operator=(const CniNamespace&) = delete;
  ~CniNamespace();

  const std::string& path() const { return path_; }
  const std::string& id() const { return id_; }

 private:
  friend class CniNetwork;
  CniNamespace(const CniNetwork* net, std::string id, std::string path)
      : net_(net), id_(std::move(id)), path_(std::move(path)) {}

  const CniNetwork* net_;
  std::string id_;
  std::string path_;
  nlohmann::json result_;  // the last ADD result of the network, for DEL's prevResult
};

// Thread-safe: Setup may run concurrently for different ids (plugins lock what they share,
// e.g. host-local's store).
// How long one CNI plugin call (ADD or DEL) may take before it is killed.
inline constexpr std::chrono::seconds kPluginTimeout{60};

class CniNetwork {
 public:
  // Loads and validates the config, finds every plugin binary (and `loopback`), creates the
  // state dir and tears down namespaces a previous daemon left there.
  static Result<std::unique_ptr<CniNetwork>> New(const CniOptions& opts);

  // A new network namespace for run `id` with lo up and the network on eth0.
  Result<std::unique_ptr<CniNamespace>> Setup(const std::string& id) const;

  const CniConfig& config() const { return config_; }

 private:
  friend class CniNamespace;
  CniNetwork(CniConfig config, std::vector<std::string> plugin_paths, std::string loopback,
             std::string cni_path, std::string state_dir)
      : config_(std::move(config)),
        plugin_paths_(std::move(plugin_paths)),
        loopback_(std::move(loopback)),
        cni_path_(std::move(cni_path)),
        state_dir_(std::move(state_dir)) {}

  Result<nlohmann::json> Exec(const std::string& plugin_path, const std::string& command,
                              const std::string& id, const std::string& netns,
                              const std::string& ifname, const std::string& network,
                              const std::string& stdin_data) const;
  // DEL of the network (reverse order) and of lo; failures are logged, never stop the rest.
  void Teardown(const std::string& id, const std::string& netns,
                const nlohmann::json& result) const;
  void CleanStale() const;

  const CniConfig config_;
  const std::vector<std::string> plugin_paths_;  // per config_.plugins
  const std::string loopback_;
  const std::string cni_path_;  // the binary dirs joined with ':'
  const std::string state_dir_;
};

}  // namespace kiln::executor
