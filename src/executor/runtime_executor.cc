// The Executor over an OCI runtime CLI (runc, crun), as BuildKit's runcexecutor: one bundle per
// run under <state_dir>/bundles/<id>, `<runtime> --root <state_dir>/<runtime> run`, and
// `delete --force` plus removal of the bundle on every path.

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "executor/capabilities.h"
#include "executor/cni.h"
#include "executor/etc_files.h"
#include "executor/executor.h"
#include "executor/exit_error.h"
#include "executor/oci_spec.h"
#include "executor/process_io.h"
#include "executor/runtime_check.h"
#include "executor/subprocess.h"
#include "executor/user.h"
#include "executor/workdir.h"
#include "util/log.h"
#include "util/path.h"

namespace kiln::executor {
namespace {

namespace fs = std::filesystem;

// 25 random base-36 characters, like BuildKit's identity.NewID.
std::string NewId() {
  static const char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  unsigned char raw[25];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string id;
  for (unsigned char c : raw) id += kAlphabet[c % 36];
  return id;
}

Status WriteFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create " + path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return ErrnoStatus(e, "write " + path);
    }
    off += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return ErrnoStatus(errno, "close " + path);
  return Status::Ok();
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// /dev/loop0 .. /dev/loop(N-1) for insecure steps: up to the first free one + 7.
int InsecureLoopDevices() {
  int fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (fd < 0) return 8;
  int free_id = ioctl(fd, LOOP_CTL_GET_FREE);
  close(fd);
  return free_id < 0 ? 8 : free_id + 8;
}

class RuntimeExecutor : public Executor {
 public:
  RuntimeExecutor(std::string bin, std::string name, RuntimeOptions opts,
                  std::vector<std::string> caps, std::unique_ptr<CniNetwork> cni)
      : bin_(std::move(bin)),
        name_(std::move(name)),
        opts_(std::move(opts)),
        root_(opts_.state_dir + "/" + name_),
        bundles_(opts_.state_dir + "/bundles"),
        caps_(std::move(caps)),
        cni_(std::move(cni)) {}

  std::string name() const override { return name_; }
  Status Run(const Context& ctx, const RunRequest& req) override;

  // Containers and bundles left by a daemon that did not shut down cleanly.
  Status CleanStale();

 private:
  std::vector<std::string> Cmd(std::vector<std::string> rest) const {
    std::vector<std::string> argv = {bin_, "--root", root_};
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  }
  Status Prepare(const RunRequest& req, const std::string& id, const std::string& bundle,
                 const std::string& default_netns) const;
  void Delete(const std::string& id) const;

  const std::string bin_;
  const std::string name_;
  const RuntimeOptions opts_;
  const std::string root_;                 // the runtime's --root
  const std::string bundles_;              // <state_dir>/bundles
  const std::vector<std::string> caps_;    // the daemon's, for insecure steps
  const std::unique_ptr<CniNetwork> cni_;  // null: kDefault is default_netns (or the host's)
};

// Runs `delete --force` and removes the bundle when a run ends, however it ends.
class RunCleanup {
 public:
  explicit RunCleanup(std::function<void()> fn) : fn_(std::move(fn)) {}
  RunCleanup(const RunCleanup&) = delete;  // runs once
  RunCleanup& operator=(const RunCleanup&) = delete;
  ~RunCleanup() { fn_(); }

 private:
  std::function<void()> fn_;
};

void RuntimeExecutor::Delete(const std::string& id) const {
  auto r = RunCommand(Cmd({"delete", "--force", id}));
  if (!r.ok()) {
    log::Warn("executor: {} delete --force {}: {}", name_, id, r.status().ToString());
  } else if (r->exit_code != 0) {
    log::Warn("executor: {} delete --force {}: {}", name_, id, r->err);
  }
}

Status RuntimeExecutor::Prepare(const RunRequest& req, const std::string& id,
                                const std::string& bundle, const std::string& default_netns) const {
  const ProcessSpec& p = req.process;
  KILN_ASSIGN_OR_RETURN(UserIds user, ResolveUserInRootfs(req.rootfs, p.user));
  std::string cwd = p.cwd.empty() ? "/" : p.cwd;
  KILN_RETURN_IF_ERROR(MakeWorkdir(req.rootfs, cwd, user.uid, user.gid));

  SpecOptions so;
  so.id = id;
  so.user = user;
  so.hosts_path = bundle + "/hosts";
  so.resolv_conf_path = bundle + "/resolv.conf";
  so.default_netns = default_netns;
  if (p.security == SecurityMode::kInsecure) {
    so.insecure_caps = caps_;
    so.insecure_loop_devices = InsecureLoopDevices();
  }
  KILN_RETURN_IF_ERROR(WriteFile(so.hosts_path, HostsFile(p.hostname, p.extra_hosts)));
  bool host_net = p.network == NetworkMode::kHost;
  std::string source = ResolvConfSourcePath(ReadFileOrEmpty("/etc/resolv.conf"), host_net);
  KILN_RETURN_IF_ERROR(
      WriteFile(so.resolv_conf_path, ResolvConf(ReadFileOrEmpty(source), host_net)));
  KILN_ASSIGN_OR_RETURN(nlohmann::json spec, GenerateSpec(req, so));
  return WriteFile(bundle + "/config.json", spec.dump());
}

Status RuntimeExecutor::Run(const Context& ctx, const RunRequest& req) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  if (req.process.args.empty()) return InvalidArgument("executor: no process args");
  if (req.rootfs.empty() || req.rootfs[0] != '/') {
    return InvalidArgument("executor: rootfs \"" + req.rootfs + "\" is not an absolute path");
  }
  std::string id = NewId();
  std::string bundle = bundles_ + "/" + id;
  if (mkdir(bundle.c_str(), 0711) != 0) return ErrnoStatus(errno, "create bundle " + bundle);
  bool started = false;
  // Declared before `cleanup` so that the namespace is torn down after the container is gone.
  std::unique_ptr<CniNamespace> netns;
  RunCleanup cleanup([&] {
    // `run` removes its container when the process ends; a state dir left behind (a cancel, a
    // runtime that died) needs `delete --force`. Skipping the extra runtime call otherwise
    // saves a process start per step.
    struct stat st;
    if (started && lstat((root_ + "/" + id).c_str(), &st) == 0) Delete(id);
    std::error_code ec;
    fs::remove_all(bundle, ec);
    if (ec) log::Warn("executor: remove {}: {}", bundle, ec.message());
  });
  std::string default_netns = opts_.default_netns;
  if (cni_ && req.process.network == NetworkMode::kDefault) {
    KILN_ASSIGN_OR_RETURN(netns, cni_->Setup(id));
    default_netns = netns->path();
    KILN_RETURN_IF_ERROR(ctx.Err());
  }
  KILN_RETURN_IF_ERROR(Prepare(req, id, bundle, default_netns));
  KILN_RETURN_IF_ERROR(ctx.Err());

  std::vector<std::string> run = {
      "--log", bundle + "/runtime-log.json", "--log-format", "json", "run", "--bundle", bundle};
  if (opts_.no_pivot) run.push_back("--no-pivot");
  run.push_back(id);
  ProcessIOOptions io;
  io.kill = [this, &id] {
    auto r = RunCommand(Cmd({"kill", "--all", id, "KILL"}));
    return r.ok() && r->exit_code == 0;
  };
  io.on_stuck_output = [this, &id] { Delete(id); };
  started = true;
  KILN_ASSIGN_OR_RETURN(int code, RunProcessIO(ctx, Cmd(run), req.stdio, io));
  if (ctx.cancelled()) return ctx.Err();
  if (code == 0) return Status::Ok();
  std::string runtime_error = RuntimeLogErrors(ReadFileOrEmpty(bundle + "/runtime-log.json"));
  return ProcessExitError(req.process.args, code, runtime_error);
}

Status RuntimeExecutor::CleanStale() {
  std::error_code ec;
  if (fs::exists(root_, ec)) {
    KILN_ASSIGN_OR_RETURN(CommandResult r, RunCommand(Cmd({"list", "--format", "json"})));
    if (r.exit_code != 0) {
      return Unavailable(name_ + " list in " + root_ + " failed: " + r.err);
    }
    auto list = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    if (list.is_array()) {
      for (const auto& c : list) {
        auto it = c.find("id");
        if (it == c.end() || !it->is_string()) continue;
        log::Info("executor: removing stale container {}", it->get<std::string>());
        Delete(it->get<std::string>());
      }
    }
  }
  for (const auto& e : fs::directory_iterator(bundles_, ec)) {
    std::error_code rm;
    fs::remove_all(e.path(), rm);
    if (rm) return Internal("remove stale bundle " + e.path().string() + ": " + rm.message());
  }
  if (ec) return Internal("list " + bundles_ + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Executor>> NewRuntimeExecutor(const RuntimeOptions& opts) {
  KILN_ASSIGN_OR_RETURN(std::string bin, LookPath(opts.binary));
  KILN_ASSIGN_OR_RETURN(CommandResult version, RunCommand({bin, "--version"}));
  if (version.exit_code != 0) {
    return FailedPrecondition(bin + " --version failed: " + version.err);
  }
  KILN_RETURN_IF_ERROR(CheckRuntimeSupports(version.out, DetectCgroupLayout()));
  if (opts.state_dir.empty()) return InvalidArgument("executor: no state dir");
  std::error_code ec;
  fs::create_directories(opts.state_dir + "/bundles", ec);
  if (ec) return Internal("create " + opts.state_dir + "/bundles: " + ec.message());
  std::string state = fs::absolute(opts.state_dir, ec).lexically_normal().string();
  while (state.size() > 1 && state.back() == '/') state.pop_back();
  RuntimeOptions o = opts;
  o.state_dir = state;
  std::vector<std::string> caps = DefaultCapabilities();
  if (auto cur = CurrentCapabilities(); cur.ok()) caps = *cur;
  std::string name = IsCrun(version.out) ? "crun" : std::string(Base(bin));
  std::unique_ptr<CniNetwork> cni;
  if (!o.cni_config_path.empty()) {
    CniOptions co;
    co.config_path = o.cni_config_path;
    co.binary_dirs = o.cni_binary_dirs;
    co.state_dir = state + "/netns";
    KILN_ASSIGN_OR_RETURN(cni, CniNetwork::New(co));
  }
  auto ex = std::make_unique<RuntimeExecutor>(bin, name, o, caps, std::move(cni));
  KILN_RETURN_IF_ERROR(ex->CleanStale());
  return std::unique_ptr<Executor>(std::move(ex));
}

}  // namespace kiln::executor
