#pragma once
// Starting the OCI runtime CLI: fork+exec with only the three stdio fds passed on (everything
// else of the daemon is closed in the child), default signal handling, its own process group,
// and SIGKILL if the thread that started it dies. Thread-safe.

#include <sys/types.h>

#include <string>
#include <vector>

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

// Starts argv[0] (a path) with the daemon's environment.
Result<Child> Spawn(const std::vector<std::string>& argv, const StdioFds& fds);

struct CommandResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs argv to completion with stdin from /dev/null, capturing stdout and stderr.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv);

// 128+signal for a signal death, else the exit status (what a shell and runc report).
int ExitCodeFromWaitStatus(int wstatus);

}  // namespace kiln::executor
