#pragma once
// What every kilnctl subcommand shares: the global flags, the connection to the daemon (with the
// embedded private daemon for `build`), the process-wide cancellation context wired to
// SIGINT/SIGTERM, and buildctl's error convention ("error: <message>" on stderr, exit 1).

#include <memory>
#include <string>

#include "client/embedded_daemon.h"
#include "rpc/connection.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::kilnctl {

struct GlobalOptions {
  std::string addr;  // --addr; "" = $KILN_HOST or the default socket
  bool debug = false;
};

// The root context: cancelled by the first SIGINT/SIGTERM (a second one exits at once).
// Call InstallSignalHandling before starting any thread.
void InstallSignalHandling();
const Context& RootContext();

struct Connection {
  std::unique_ptr<rpc::Connection> rpc;
  std::unique_ptr<client::EmbeddedDaemon> embedded;  // set when a private kilnd was started
};

// Connects to the daemon the global flags name. With `allow_embedded`, no explicit address and
// nothing answering on the default socket, starts a private kilnd first.
Result<Connection> Connect(const GlobalOptions& g, bool allow_embedded);

// Keeps `conn` open until the process exits: closing it would reset its calls and wait for its
// thread, which an exiting process need not do (the daemon sees the connection close).
void KeepUntilExit(std::unique_ptr<rpc::Connection> conn);

// Prints "error: <message>" to stderr and returns the exit code (1).
int ReportError(const Status& s);

// Writes all of `data` to stdout.
void PrintStdout(std::string_view data);
void PrintStderr(std::string_view data);

}  // namespace kiln::kilnctl
