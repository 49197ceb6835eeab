#pragma once
// The embedded default (DESIGN.md §3): with no --addr, no $KILN_HOST and nothing answering on
// the default socket, `kilnctl build` runs a private kilnd for the duration of the build.
//
// Start finds the kilnd binary (next to kilnctl's own executable, or on $PATH), takes an
// exclusive flock on <root>/kilnctl-embedded.lock (two private daemons on one root would clash;
// a second kilnctl waits), and runs
//   kilnd --addr unix://<private temp dir>/kilnd.sock --root <root>
// in its own process group (Ctrl-C reaches only kilnctl, which then cancels the build and
// stops the daemon) with its output in <temp dir>/kilnd.log, until ListWorkers answers
// (~10 s). Stop sends SIGTERM, waits, and removes the temp dir. The daemon also gets SIGTERM if
// kilnctl dies. An RAII handle (not copyable: it owns a process, a lock and a temp dir); not
// thread-safe.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "util/context.h"
#include "util/status.h"

namespace kiln::client {

struct EmbeddedDaemonOptions {
  std::string kilnd_path;  // found when empty
  std::string root;        // DefaultRoot() when empty
  std::chrono::milliseconds ready_timeout{10000};
  bool log_to_stderr = false;  // --debug: let the daemon's log through
};

// /var/lib/kiln as root; $XDG_DATA_HOME/kiln or ~/.local/share/kiln otherwise.
std::string DefaultRoot(uid_t uid, const char* xdg_data_home, const char* home);

// The kilnd executable to run, or NotFound.
Result<std::string> FindKilnd();

class EmbeddedDaemon {
 public:
  static Result<std::unique_ptr<EmbeddedDaemon>> Start(const Context& ctx,
                                                       EmbeddedDaemonOptions opts);
  EmbeddedDaemon(const EmbeddedDaemon&) = delete;  // owns a process, a lock and a temp dir
  EmbeddedDaemon& operator=(const EmbeddedDaemon&) = delete;
  ~EmbeddedDaemon();

  const std::string& address() const { return address_; }
  const std::string& root() const { return root_; }
  // Stops the daemon (SIGTERM, then SIGKILL after 10 s) and cleans up. Idempotent.
  Status Stop();

 private:
  EmbeddedDaemon() = default;
  Status Spawn(const std::string& kilnd, bool log_to_stderr);
  Status WaitReady(const Context& ctx, std::chrono::milliseconds timeout);
  std::string LogTail() const;

  std::string root_;
  std::string tmpdir_;
  std::string address_;
  int lock_fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace kiln::client
