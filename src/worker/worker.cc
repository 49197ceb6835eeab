#include "worker/worker.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "executor/cni.h"
#include "snapshot/overlay.h"

namespace kiln::worker {

namespace {

// The worker id is random once per root and kept, as BuildKit's is.
Result<std::string> LoadOrCreateID(const std::string& root) {
  std::string path = root + "/workerid";
  std::ifstream in(path);
  std::string id;
  if (in >> id && !id.empty()) return id;
  std::mt19937_64 rng{std::random_device{}()};
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int i = 0; i < 25; i++) id += alphabet[rng() % 36];
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << id << "\n";
    if (!out) return Internal("write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Internal("rename " + tmp + ": " + ec.message());
  return id;
}

}  // namespace

Platform HostPlatform() {
  Platform p;
  struct utsname u;
  std::string m = uname(&u) == 0 ? u.machine : "";
  if (m == "x86_64") {
    p.architecture = "amd64";
  } else if (m == "aarch64") {
    p.architecture = "arm64";
  } else if (m.rfind("armv7", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (m == "i686" || m == "i386") {
    p.architecture = "386";
  } else {
    p.architecture = m;
  }
  return p;
}

Result<const cache::ImmutableRef*> RefOf(const solver::OpResultPtr& r) {
  auto* w = dynamic_cast<const WorkerRef*>(r.get());
  if (!w) return Internal("result is not a worker ref");
  return &w->ref();
}

Result<std::string> ResolveNetworkMode(const std::string& mode, const std::string& cni_config) {
  if (mode == "host" || mode == "cni") return mode;
  if (mode == "auto" || mode.empty()) {
    // BuildKit's rule: CNI when the config file exists (any stat success), else the host's.
    struct stat st;
    return std::string(stat(cni_config.c_str(), &st) == 0 ? "cni" : "host");
  }
  return InvalidArgument("invalid network mode \"" + mode +
                         "\" (this kiln supports: auto, cni, host)");
}

Result<std::unique_ptr<Worker>> Worker::New(const WorkerOptions& opts) {
  std::unique_ptr<Worker> w(new Worker());
  w->opts_ = opts;
  std::error_code ec;
  std::filesystem::create_directories(opts.root, ec);
  if (ec) return Internal("create worker root " + opts.root + ": " + ec.message());
  KILN_ASSIGN_OR_RETURN(w->id_, LoadOrCreateID(opts.root));
  w->platforms_ = {HostPlatform()};
  for (auto& p : BinfmtPlatforms()) w->platforms_.push_back(std::move(p));
  if (opts.snapshotter != "auto" && opts.snapshotter != "native" &&
      opts.snapshotter != "overlayfs") {
    return InvalidArgument("unknown snapshotter \"" + opts.snapshotter +
                           "\" (this kiln supports: auto, overlayfs, native)");
  }
  KILN_ASSIGN_OR_RETURN(
      w->snapshotter_, snapshot::NewDefaultSnapshotter(opts.root + "/snapshots", opts.snapshotter));
  KILN_ASSIGN_OR_RETURN(w->content_, content::Store::Open(opts.root + "/content"));
  KILN_ASSIGN_OR_RETURN(w->cache_, cache::Manager::Open(opts.root, w->snapshotter_.get()));
  w->cache_mounts_ = std::make_unique<cache::CacheMounts>(w->cache_.get());
  // Secrets tmpfs mounts of runs a crashed daemon left (exec ops mount them under secrets/).
  std::error_code sec_ec;
  for (const auto& d : std::filesystem::directory_iterator(opts.root + "/secrets", sec_ec)) {
    umount2(d.path().c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    std::filesystem::remove_all(d.path(), sec_ec);
  }
  executor::RuntimeOptions ro;
  ro.binary = opts.runtime.empty() ? "runc" : opts.runtime;
  ro.state_dir = opts.root + "/executor";
  KILN_ASSIGN_OR_RETURN(w->network_, ResolveNetworkMode(opts.network_mode, opts.cni_config_path));
  if (w->network_ == "cni") {
    ro.cni_config_path = opts.cni_config_path;
    ro.cni_binary_dirs = executor::SplitCniPath(opts.cni_binary_path);
  }
  KILN_ASSIGN_OR_RETURN(w->executor_, executor::NewRuntimeExecutor(ro));
  return w;
}

Worker::~Worker() = default;

std::map<std::string, std::string> Worker::Labels() const {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::string prefix = "org.mobyproject.buildkit.worker.";
  return {
      {prefix + "executor", "oci"},
      {prefix + "hostname", opts_.hostname.empty() ? host : opts_.hostname},
      {prefix + "network", network_},
      {prefix + "oci.process-mode", "sandbox"},
      {prefix + "selinux.enabled", "false"},
      {prefix + "snapshotter", snapshotter_->name()},
  };
}

bool Worker::CanRun(const Platform& p) const {
  // An arm64 host runs arm/v7 natively only where the CPU says so; kiln checks os, architecture
  // and variant as listed (an empty variant accepts any).
  for (const auto& w : platforms_) {
    if (w.os == p.os && w.architecture == p.architecture &&
        (p.variant.empty() || w.variant.empty() || w.variant == p.variant)) {
      return true;
    }
  }
  return false;
}

Result<solver::OpResultPtr> Worker::Load(const Context& ctx, const std::string& id) {
  KILN_ASSIGN_OR_RETURN(auto ref, cache_->Get(id));
  return solver::OpResultPtr(std::make_shared<WorkerRef>(std::move(ref)));
}

}  // namespace kiln::worker
