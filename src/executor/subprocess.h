#pragma once
// Starting the OCI runtime CLI: fork+exec with only the three stdio fds passed on (everything
// else of the daemon is closed in the child), default signal handling, its own process group,
// and SIGKILL if the thread that started it dies. Thread-safe.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln::executor {

// A started child. Move-only; the destructor kills (SIGKILL) and reaps a child still running,
// so no process outlives its handle.
class Child {
 public:
  Child() = default;
  Child(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  Child(Child&& o) noexcept { *this = std::move(o); }
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }  // readable (POLLIN) once the child has exited
  // Blocks until the child exits; its exit code, 128+signal when killed by a signal.
  Result<int> Wait();

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
};

// fds for the child's stdin, stdout and stderr; -1 means /dev/null.
struct StdioFds {
  int in = -1;
  int out = -1;
  int err = -1;
};

// Starts argv[0] (a path) with the daemon's environment, or with `env` ("K=V" entries) when
// given.
Result<Child> Spawn(const std::vector<std::string>& argv, const StdioFds& fds,
                    const std::vector<std::string>* env = nullptr);

struct CommandResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

struct CommandOptions {
  std::string stdin_data;  // written to the child's stdin, then closed
  // "K=V" entries set in the child on top of the daemon's environment (replacing same keys).
  std::vector<std::string> env;
  // When set, `env` is the child's whole environment (nothing of the daemon's is passed on).
  bool replace_env = false;
  // When set, the command is killed (its whole process group) and DeadlineExceeded returned
  // after `timeout`, or the context's cause once `ctx` is cancelled. Output pipes a leftover
  // grandchild keeps open count as still running.
  std::chrono::milliseconds timeout{0};
  const Context* ctx = nullptr;
};

// Runs argv to completion, capturing stdout and stderr; stdin from /dev/null unless
// `opts.stdin_data` is set.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const CommandOptions& opts = {});

// The daemon's environment with `overrides` ("K=V") set.
std::vector<std::string> EnvWith(const std::vector<std::string>& overrides);

// write() that reports EPIPE instead of raising SIGPIPE in the daemon.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t n);

// 128+signal for a signal death, else the exit status (what a shell and runc report).
int ExitCodeFromWaitStatus(int wstatus);

}  // namespace kiln::executor
