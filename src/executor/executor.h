#pragma once
// Executor: runs one process in a container over a prepared root filesystem and mounts
// (BuildKit's executor.Executor). The caller owns the host side of every mount (snapshots
// mounted at host paths, files it wrote); the executor only describes them to the OCI runtime,
// starts the process, streams its output and cleans up everything it made (bundle, runtime
// state, cgroups, the process tree) whether the process succeeds, fails or is cancelled.
// Implementations are thread-safe: many Runs may be in flight at once.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln::executor {

// One mount in the container besides the root filesystem.
struct MountSpec {
  enum class Type { kBind, kTmpfs };
  Type type = Type::kBind;
  std::string dest;    // absolute path in the container
  std::string source;  // host path (bind: a directory or a file); unused for tmpfs
  bool readonly = false;
  int64_t tmpfs_size = 0;  // bytes; 0 = the kernel's default
};

enum class NetworkMode {
  kDefault,  // BuildKit's OCI worker default: the host's network when no CNI config is given
  kHost,     // the host's network namespace (entitlement network.host)
  kNone,     // a new network namespace with loopback only
};

enum class SecurityMode {
  kSandbox,   // default capability set, seccomp, no-new-privileges, masked paths
  kInsecure,  // privileged (entitlement security.insecure)
};

struct HostIP {
  std::string host;
  std::string ip;
};

struct Ulimit {
  std::string name;  // "nofile", "nproc", ... as in ExecOp's Meta
  int64_t soft = 0;
  int64_t hard = 0;
};

// What runs, as ExecOp's Meta has it.
struct ProcessSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V"
  std::string cwd = "/";         // created in the rootfs when missing
  // "" (root), "name", "uid", "name:group", "uid:gid"; names resolved from the rootfs's
  // /etc/passwd and /etc/group, with the user's supplementary groups.
  std::string user;
  std::string hostname;
  std::vector<HostIP> extra_hosts;
  std::vector<Ulimit> ulimits;
  std::string cgroup_parent;
  NetworkMode network = NetworkMode::kDefault;
  SecurityMode security = SecurityMode::kSandbox;
};

// Where the process's output goes: called from the executor's own threads with chunks as they
// arrive (never concurrently for one stream); either may be empty to discard.
struct Stdio {
  std::function<void(std::string_view)> out;
  std::function<void(std::string_view)> err;
  std::string stdin_data;  // written to the process's stdin, then closed
};

struct RunRequest {
  std::string rootfs;  // host path of the mounted, writable (or readonly) root filesystem
  bool rootfs_readonly = false;
  std::vector<MountSpec> mounts;
  ProcessSpec process;
  Stdio stdio;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string name() const = 0;
  // Runs the process to completion. A non-zero exit gives an Unknown status with the exit code
  // as a detail (WithExitCode) and BuildKit's message shape: `process "/bin/sh -c false" did
  // not complete successfully: exit code: 1`. Cancelling `ctx` kills the whole process tree
  // and returns ctx.Err() once the runtime's state is gone.
  virtual Status Run(const Context& ctx, const RunRequest& req) = 0;
};

struct RuntimeOptions {
  std::string binary;     // "runc" or "crun", or a path; looked up in PATH when bare
  std::string state_dir;  // runtime --root and bundles, under the daemon root
  // Which network namespace kDefault means; empty = the host's (no CNI configured).
  std::string default_netns;
  bool no_pivot = false;  // `run --no-pivot` (rootfs on a ramdisk), as buildkitd's --no-pivot
  // CNI for kDefault (BuildKit's --oci-worker-net=cni): with a config file, every run gets a
  // network namespace of its own set up by these plugins (cni.h); default_netns is then unused.
  std::string cni_config_path;
  std::vector<std::string> cni_binary_dirs;  // searched in order for the plugins
};

// An executor over an OCI runtime CLI (runc, crun). Checks at creation that the runtime can
// start a container on this host (crun 1.8 cannot under hybrid cgroups) and fails with the
// reason if not.
Result<std::unique_ptr<Executor>> NewRuntimeExecutor(const RuntimeOptions& opts);

}  // namespace kiln::executor
