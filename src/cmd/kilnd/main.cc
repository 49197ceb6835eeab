// kilnd: the kiln build daemon. Flags override the TOML config file (buildkitd.toml's shape).

#include <absl/synchronization/mutex.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "util/log.h"

int main(int argc, char** argv) {
  // gRPC's locks are abseil mutexes, and Debian's abseil checks every lock order for cycles
  // (a graph update per acquisition): a few percent of the daemon's CPU on cached builds.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"kilnd: a container image builder daemon speaking BuildKit's API"};
  std::string config_path, root;
  std::vector<std::string> addrs, allow_entitlements;
  std::string oci_binary, oci_snapshotter, oci_net, oci_cni_config, oci_cni_bin;
  bool debug = false;
  app.add_option("--config", config_path, "TOML config file (buildkitd.toml format)");
  app.add_option("--root", root, "state directory (default /var/lib/kiln)");
  app.add_option("--addr", addrs, "listening address (default unix:///run/kiln/kilnd.sock)");
  app.add_flag("--debug", debug, "debug logging");
  app.add_option("--allow-insecure-entitlement", allow_entitlements,
                 "allow an insecure entitlement: network.host, security.insecure");
  app.add_option("--oci-worker-binary", oci_binary, "OCI runtime for RUN steps: runc (default) or crun");
  app.add_option("--oci-worker-snapshotter", oci_snapshotter, "snapshotter: auto, overlayfs or native");
  app.add_option("--oci-worker-net", oci_net,
                 "network of RUN steps: auto (cni when the CNI config exists), cni or host");
  app.add_option("--oci-cni-config-path", oci_cni_config,
                 "CNI network config (.conf/.json or .conflist; default /etc/buildkit/cni.json)");
  app.add_option("--oci-cni-binary-dir", oci_cni_bin,
                 "CNI plugin directories, ':'-separated (default /opt/cni/bin:/usr/lib/cni)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  kiln::daemon::Config cfg;
  cfg.root = kiln::daemon::DefaultRoot();
  if (!config_path.empty()) {
    std::vector<std::string> warnings;
    auto c = kiln::daemon::LoadConfigFile(config_path, &warnings);
    if (!c.ok()) {
      std::fprintf(stderr, "kilnd: %s\n", c.status().message().c_str());
      return 1;
    }
    cfg = *c;
    for (const auto& w : warnings) kiln::log::Warn("config: {}", w);
  }
  if (!root.empty()) cfg.root = root;
  if (!addrs.empty()) cfg.addresses = addrs;
  if (debug) cfg.debug = true;
  for (const auto& e : allow_entitlements) {
    if (e != "network.host" && e != "security.insecure") {
      std::fprintf(stderr, "kilnd: unknown entitlement %s (known: network.host, security.insecure)\n", e.c_str());
      return 1;
    }
    cfg.entitlements.push_back(e);
  }
  if (!oci_binary.empty()) cfg.runtime = oci_binary;
  if (!oci_snapshotter.empty()) cfg.snapshotter = oci_snapshotter;
  if (!oci_net.empty()) cfg.network_mode = oci_net;
  if (!oci_cni_config.empty()) cfg.cni_config_path = oci_cni_config;
  if (!oci_cni_bin.empty()) cfg.cni_binary_path = oci_cni_bin;

  // Signals are handled on a thread of their own.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto d = kiln::daemon::Daemon::Start(cfg);
  if (!d.ok()) {
    std::fprintf(stderr, "kilnd: %s\n", d.status().message().c_str());
    return 1;
  }
  std::thread([&set, &d] {
    int sig = 0;
    sigwait(&set, &sig);
    kiln::log::Info("received signal {}, shutting down", sig);
    (*d)->Shutdown();
  }).detach();
  (*d)->Wait();
  return 0;
}
