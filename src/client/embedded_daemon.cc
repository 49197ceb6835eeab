#include "client/embedded_daemon.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "client/tree_merge.h"
#include "control/control.pb.h"
#include "rpc/typed.h"
#include "util/log.h"

namespace kiln::client {

namespace {

Status MkdirAll(const std::string& path, mode_t mode) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string cur = path.substr(0, pos);
    if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir " + cur);
  }
  return Status::Ok();
}

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string ExeDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string exe(buf, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "" : exe.substr(0, slash);
}

}  // namespace

std::string DefaultRoot(uid_t uid, const char* xdg_data_home, const char* home) {
  if (uid == 0) return "/var/lib/kiln";
  if (xdg_data_home != nullptr && xdg_data_home[0] == '/') {
    return std::string(xdg_data_home) + "/kiln";
  }
  return std::string(home != nullptr ? home : "") + "/.local/share/kiln";
}

Result<std::string> FindKilnd() {
  std::string dir = ExeDir();
  if (!dir.empty()) {
    if (IsExecutable(dir + "/kilnd")) return dir + "/kilnd";
  }
  if (const char* path = getenv("PATH"); path != nullptr) {
    std::stringstream ss(path);
    std::string entry;
    while (std::getline(ss, entry, ':')) {
      if (entry.empty()) entry = ".";
      if (IsExecutable(entry + "/kilnd")) return entry + "/kilnd";
    }
  }
  return NotFound("kilnd not found next to kilnctl or on $PATH; start a daemon or pass --addr");
}

Result<std::unique_ptr<EmbeddedDaemon>> EmbeddedDaemon::Start(const Context& ctx,
                                                              EmbeddedDaemonOptions opts) {
  std::string kilnd = opts.kilnd_path;
  if (kilnd.empty()) {
    KILN_ASSIGN_OR_RETURN(kilnd, FindKilnd());
  }
  std::unique_ptr<EmbeddedDaemon> d(new EmbeddedDaemon());
  d->root_ = opts.root.empty() ? DefaultRoot(getuid(), getenv("XDG_DATA_HOME"), getenv("HOME"))
                               : opts.root;
  KILN_RETURN_IF_ERROR(MkdirAll(d->root_, 0700));

  std::string lock_path = d->root_ + "/kilnctl-embedded.lock";
  d->lock_fd_ = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (d->lock_fd_ < 0) return ErrnoStatus(errno, "open " + lock_path);
  if (flock(d->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus(errno, "lock " + lock_path);
    std::string msg =
        fmt::format("waiting for another kilnctl's private daemon on {} to finish...\n", d->root_);
    if (write(STDERR_FILENO, msg.data(), msg.size()) < 0) log::Debug("stderr closed");
    while (flock(d->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return ErrnoStatus(errno, "lock " + lock_path);
      KILN_RETURN_IF_ERROR(ctx.Sleep(std::chrono::milliseconds(200)));
    }
  }

  const char* runtime = getenv("XDG_RUNTIME_DIR");
  std::string base = runtime != nullptr && runtime[0] == '/' ? runtime : "/tmp";
  std::string tmpl = base + "/kilnctl-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, "create " + tmpl);
  d->tmpdir_ = tmpl;
  d->address_ = "unix://" + d->tmpdir_ + "/kilnd.sock";

  KILN_RETURN_IF_ERROR(d->Spawn(kilnd, opts.log_to_stderr));
  KILN_RETURN_IF_ERROR(d->WaitReady(ctx, opts.ready_timeout));
  return d;
}

Status EmbeddedDaemon::Spawn(const std::string& kilnd, bool log_to_stderr) {
  std::vector<std::string> args = {kilnd, "--addr", address_, "--root", root_};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log_path = tmpdir_ + "/kilnd.log";
  int log_fd = -1;
  if (!log_to_stderr) {
    log_fd = open(log_path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) return ErrnoStatus(errno, "open " + log_path);
  }
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    if (log_fd >= 0) close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return ErrnoStatus(err, "fork");
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  if (null_fd >= 0) close(null_fd);
  pid_ = pid;
  return Status::Ok();
}

std::string EmbeddedDaemon::LogTail() const {
  std::ifstream in(tmpdir_ + "/kilnd.log");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() > 4000) all = "..." + all.substr(all.size() - 4000);
  return all;
}

Status EmbeddedDaemon::WaitReady(const Context& ctx, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string socket = UnixSocketPath(address_);
  while (true) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      std::string how = WIFEXITED(wstatus) ? fmt::format("exit status {}", WEXITSTATUS(wstatus))
                                           : fmt::format("signal {}", WTERMSIG(wstatus));
      return Unavailable(
          fmt::format("the private kilnd exited during startup ({}):\n{}", how, LogTail()));
    }
    if (UnixSocketAnswers(socket)) {
      auto conn = Dial(address_);
      if (conn.ok()) {
        rpc::CallOptions opts;
        opts.deadline = rpc::Clock::now() + std::chrono::seconds(1);
        rpc::Unary<moby::buildkit::v1::ListWorkersResponse> call(
            **conn, "/moby.buildkit.v1.Control/ListWorkers",
            moby::buildkit::v1::ListWorkersRequest(), opts);
        if (call.Wait().ok()) return Status::Ok();
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceeded(
          fmt::format("the private kilnd did not answer on {} in time:\n{}", address_, LogTail()));
    }
    KILN_RETURN_IF_ERROR(ctx.Sleep(std::chrono::milliseconds(100)));
  }
}

Status EmbeddedDaemon::Stop() {
  Status st;
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int wstatus = 0;
    while (true) {
      pid_t r = waitpid(pid_, &wstatus, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &wstatus, 0);
        st = DeadlineExceeded("the private kilnd did not stop after SIGTERM; killed it");
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    pid_ = -1;
  }
  if (!tmpdir_.empty()) {
    RemoveTree(tmpdir_).IgnoreError();
    tmpdir_.clear();
  }
  if (lock_fd_ >= 0) {
    close(lock_fd_);  // releases the flock
    lock_fd_ = -1;
  }
  return st;
}

EmbeddedDaemon::~EmbeddedDaemon() { Stop().IgnoreError(); }

}  // namespace kiln::client
