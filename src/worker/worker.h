#pragma once
// A worker: the snapshotter, cache manager and (later) executor and content store that run ops,
// with the platforms and labels reported by ListWorkers. The OCI worker uses kiln's own parts.
// Thread-safe.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cache/cache_mounts.h"
#include "cache/manager.h"
#include "content/store.h"
#include "executor/executor.h"
#include "snapshot/snapshotter.h"
#include "solver/types.h"

namespace kiln::worker {

struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;
};

// A solver result backed by a cache ref.
class WorkerRef : public solver::OpResult {
 public:
  explicit WorkerRef(cache::ImmutableRef ref) : ref_(std::move(ref)) {}
  std::string ID() const override { return ref_.id(); }
  const cache::ImmutableRef& ref() const { return ref_; }

 private:
  cache::ImmutableRef ref_;
};

// The ref behind a solver result, or an error naming what it was.
Result<const cache::ImmutableRef*> RefOf(const solver::OpResultPtr& r);

struct WorkerOptions {
  std::string root;  // daemon root; the worker keeps its state below it
  std::string snapshotter =
      "auto";  // "auto" (overlayfs when the kernel allows), "overlayfs", "native"
  std::string hostname;
  // The OCI runtime ExecOps run with: "runc" (default) or "crun", or a path to one.
  std::string runtime = "runc";
  // The network of steps without a network mode (BuildKit's --oci-worker-net): "host", "cni",
  // or "auto" (cni when cni_config_path exists, else host).
  std::string network_mode = "auto";
  std::string cni_config_path = "/etc/buildkit/cni.json";
  // Where the CNI plugins are, ':'-separated and searched in order. BuildKit's default is
  // /opt/cni/bin; Debian's containernetworking-plugins installs into /usr/lib/cni.
  std::string cni_binary_path = "/opt/cni/bin:/usr/lib/cni";
};

// "cni" or "host" for a --oci-worker-net value, as BuildKit's netproviders resolve it.
Result<std::string> ResolveNetworkMode(const std::string& mode, const std::string& cni_config);

class Worker : public solver::ResultLoader {
 public:
  static Result<std::unique_ptr<Worker>> New(const WorkerOptions& opts);
  ~Worker() override;

  const std::string& id() const { return id_; }
  std::map<std::string, std::string> Labels() const;
  // What the worker can run (ListWorkers): the host's platform first, then those the kernel
  // runs through an enabled binfmt_misc emulator (read once, when the worker starts).
  std::vector<Platform> Platforms() const { return platforms_; }
  // Whether an exec op of platform `p` can run here.
  bool CanRun(const Platform& p) const;
  cache::Manager& cache() { return *cache_; }
  cache::CacheMounts& cache_mounts() { return *cache_mounts_; }
  snapshot::Snapshotter& snapshotter() { return *snapshotter_; }
  content::Store& content() { return *content_; }
  executor::Executor* executor() { return executor_.get(); }
  const std::string& root() const { return opts_.root; }

  Result<solver::OpResultPtr> Load(const Context& ctx, const std::string& id) override;

 private:
  Worker() = default;
  WorkerOptions opts_;
  std::string id_;
  std::string network_;  // the resolved network mode: "cni" or "host"
  std::vector<Platform> platforms_;
  std::unique_ptr<snapshot::Snapshotter> snapshotter_;
  std::unique_ptr<cache::Manager> cache_;
  std::unique_ptr<cache::CacheMounts> cache_mounts_;  // before cache_ in destruction
  std::unique_ptr<content::Store> content_;
  std::unique_ptr<executor::Executor> executor_;
};

// The host's platform in OCI terms (amd64, arm64, …).
Platform HostPlatform();

// The platforms with an enabled qemu-<arch> handler in the binfmt_misc directory `dir`, in name
// order, less the host's architecture (binfmt_linux.cc).
std::vector<Platform> BinfmtPlatforms(const std::string& dir = "/proc/sys/fs/binfmt_misc");

}  // namespace kiln::worker
