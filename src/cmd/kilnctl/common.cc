#include "cmd/kilnctl/common.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "util/error_details.h"
#include "util/log.h"

namespace kiln::kilnctl {

namespace {

Context& MutableRoot() {
  static Context* root = new Context(Context::Background().Child());  // lives until exit
  return *root;
}

void WriteFd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void InstallSignalHandling() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // Blocked here, inherited by every thread started later; one thread takes them with sigwait.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  MutableRoot();
  std::thread([set] {
    int count = 0;
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (++count == 1) {
        MutableRoot().Cancel(Cancelled("context canceled"));
      } else {
        _exit(128 + sig);
      }
    }
  }).detach();
}

const Context& RootContext() { return MutableRoot(); }

Result<Connection> Connect(const GlobalOptions& g, bool allow_embedded) {
  Connection conn;
  client::ResolvedAddress addr = client::ResolveAddress(g.addr, getenv(client::kHostEnv));
  std::string address = addr.address;
  if (allow_embedded && addr.is_default &&
      !client::UnixSocketAnswers(client::UnixSocketPath(address))) {
    client::EmbeddedDaemonOptions opts;
    opts.log_to_stderr = g.debug;
    auto daemon = client::EmbeddedDaemon::Start(RootContext(), opts);
    if (!daemon.ok()) return daemon.status().Annotate("no daemon at " + address);
    conn.embedded = std::move(*daemon);
    address = conn.embedded->address();
    log::Debug("started a private kilnd on {} (root {})", address, conn.embedded->root());
  }
  KILN_ASSIGN_OR_RETURN(conn.rpc, client::Dial(address));
  return conn;
}

void KeepUntilExit(std::unique_ptr<rpc::Connection> conn) {
  // Reachable from a global, so a leak checker at exit does not report it.
  static auto* const kept = new std::vector<std::unique_ptr<rpc::Connection>>;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  kept->push_back(std::move(conn));
}

int ReportError(const Status& s) {
  // Source lines first, as buildctl prints them (errdefs.Source.Print).
  for (const auto& src : s.details().sources) WriteFd(STDERR_FILENO, FormatSourceLocation(src));
  WriteFd(STDERR_FILENO, fmt::format("error: {}\n", s.message()));
  return 1;
}

void PrintStdout(std::string_view data) { WriteFd(STDOUT_FILENO, data); }

void PrintStderr(std::string_view data) { WriteFd(STDERR_FILENO, data); }

}  // namespace kiln::kilnctl
