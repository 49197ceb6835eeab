#include "executor/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>

extern char** environ;

namespace kiln::executor {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void ExecChild(char* const* argv, char* const* envp, const int fds[3], pid_t parent,
                            int err_pipe) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent already died
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);  // fails for KILL/STOP
  for (int i = 0; i < 3; i++) {
    // Sources are >= 3 (see Spawn), so dup2 never clobbers another source.
    if (dup2(fds[i], i) < 0) {
      int e = errno;
      (void)!write(err_pipe, &e, sizeof e);
      _exit(127);
    }
  }
  // Nothing else of the daemon reaches the runtime or the container (err_pipe is CLOEXEC and
  // stays open until execve succeeds).
  if (err_pipe > 3) syscall(SYS_close_range, 3, err_pipe - 1, 0);
  syscall(SYS_close_range, err_pipe + 1, ~0U, 0);
  execve(argv[0], argv, envp);
  int e = errno;
  (void)!write(err_pipe, &e, sizeof e);
  _exit(127);
}

}  // namespace

ssize_t WriteNoSigpipe(int fd, const char* data, size_t n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t r = write(fd, data, n);
  int err = errno;
  if (r < 0 && err == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return r;
}

int ExitCodeFromWaitStatus(int wstatus) {
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  return 255;
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    this->~Child();
    pid_ = o.pid_;
    pidfd_ = o.pidfd_;
    o.pid_ = -1;
    o.pidfd_ = -1;
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int st;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  CloseFd(pidfd_);
}

Result<int> Child::Wait() {
  if (pid_ <= 0) return Internal("wait: no child");
  int st = 0;
  pid_t r;
  while ((r = waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
  }
  if (r < 0) return ErrnoStatus(errno, "waitpid");
  pid_ = -1;
  CloseFd(pidfd_);
  return ExitCodeFromWaitStatus(st);
}

std::vector<std::string> EnvWith(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; e++) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const auto& o : overrides) {
      if (o.size() > key.size() && o.compare(0, key.size(), key) == 0 && o[key.size()] == '=') {
        replaced = true;
        break;
      }
    }
    if (!replaced) env.emplace_back(kv);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

Result<Child> Spawn(const std::vector<std::string>& argv, const StdioFds& in_fds,
                    const std::vector<std::string>* env) {
  if (argv.empty()) return InvalidArgument("spawn: empty argv");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  if (env != nullptr) {
    for (const auto& e : *env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
  }
  char* const* envp = env != nullptr ? cenv.data() : environ;

  int devnull = -1;
  int fds[3] = {in_fds.in, in_fds.out, in_fds.err};
  int owned[3] = {-1, -1, -1};
  auto cleanup = [&] {
    CloseFd(devnull);
    for (int& f : owned) CloseFd(f);
  };
  for (int i = 0; i < 3; i++) {
    if (fds[i] < 0) {
      if (devnull < 0) devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (devnull < 0) {
        cleanup();
        return ErrnoStatus(errno, "open /dev/null");
      }
      fds[i] = devnull;
    }
    if (fds[i] < 3) {  // keep sources out of the 0..2 range dup2 writes to
      owned[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
      if (owned[i] < 0) {
        cleanup();
        return ErrnoStatus(errno, "dup");
      }
      fds[i] = owned[i];
    }
  }
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    cleanup();
    return ErrnoStatus(errno, "pipe");
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) ExecChild(cargv.data(), envp, fds, parent, err_pipe[1]);
  int fork_errno = errno;
  close(err_pipe[1]);
  cleanup();
  if (pid < 0) {
    close(err_pipe[0]);
    return ErrnoStatus(fork_errno, "fork");
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  Child child(pid, pidfd);
  int child_errno = 0;
  ssize_t n;
  while ((n = read(err_pipe[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  close(err_pipe[0]);
  if (n > 0) {
    (void)child.Wait();
    return ErrnoStatus(child_errno, "exec " + argv[0]);
  }
  if (pidfd < 0) return ErrnoStatus(errno, "pidfd_open");
  return child;
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const CommandOptions& opts) {
  int out[2], err[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return ErrnoStatus(e, "pipe");
  }
  bool feed = !opts.stdin_data.empty();
  if (feed && pipe2(in, O_CLOEXEC) != 0) {
    int e = errno;
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    return ErrnoStatus(e, "pipe");
  }
  std::vector<std::string> env;
  bool own_env = !opts.env.empty() || opts.replace_env;
  if (own_env) env = opts.replace_env ? opts.env : EnvWith(opts.env);
  auto child = Spawn(argv, {in[0], out[1], err[1]}, own_env ? &env : nullptr);
  close(out[1]);
  close(err[1]);
  if (in[0] >= 0) close(in[0]);
  if (in[1] >= 0) fcntl(in[1], F_SETFL, O_NONBLOCK);
  if (!child.ok()) {
    close(out[0]);
    close(err[0]);
    if (in[1] >= 0) close(in[1]);
    return child.status();
  }
  CommandResult res;
  // [0] stdout, [1] stderr, [2] stdin (written until all of stdin_data is in, then closed).
  struct pollfd pfd[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
  std::string* dst[2] = {&res.out, &res.err};
  int open_fds = 2;
  size_t written = 0;
  char buf[8192];
  const bool bounded = opts.timeout.count() > 0 || opts.ctx != nullptr;
  const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  Status stopped;
  while (open_fds > 0) {
    int wait_ms = -1;
    if (bounded) {
      if (opts.ctx != nullptr && opts.ctx->cancelled()) {
        stopped = opts.ctx->Err();
      } else if (opts.timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline) {
        stopped = DeadlineExceeded(fmt::format("{} did not finish within {} ms", argv[0],
                                               opts.timeout.count()));
      }
      if (!stopped.ok()) {
        kill(-child->pid(), SIGKILL);  // Spawn made the child a process group leader
        kill(child->pid(), SIGKILL);
        break;
      }
      wait_ms = 100;  // wake up to check the deadline and the context
    }
    int pr = poll(pfd, 3, wait_ms);
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pr == 0) continue;
    if (pfd[2].fd >= 0 && pfd[2].revents != 0) {
      ssize_t n = WriteNoSigpipe(pfd[2].fd, opts.stdin_data.data() + written,
                                 opts.stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (written == opts.stdin_data.size() || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(pfd[2].fd);  // all written, or the child closed its stdin (EPIPE)
        pfd[2].fd = -1;
      }
    }
    for (int i = 0; i < 2; i++) {
      if (pfd[i].fd < 0 || pfd[i].revents == 0) continue;
      ssize_t n = read(pfd[i].fd, buf, sizeof buf);
      if (n > 0) {
        dst[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(pfd[i].fd);
        pfd[i].fd = -1;
        open_fds--;
      }
    }
  }
  for (auto& p : pfd) {
    if (p.fd >= 0) close(p.fd);
  }
  KILN_ASSIGN_OR_RETURN(res.exit_code, child->Wait());
  if (!stopped.ok()) return stopped;
  return res;
}

}  // namespace kiln::executor
