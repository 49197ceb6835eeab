// kilnctl: the command-line client of kilnd, with buildctl's commands, flags and output.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "cmd/kilnctl/commands.h"
#include "cmd/kilnctl/common.h"
#include "util/log.h"

namespace {

// A finished command exits at once: its output is flushed, its files closed and its threads
// joined by now, and running the destructors of gRPC's and protobuf's globals only adds a few
// milliseconds to every kilnctl run (a cached build takes tens). Under AddressSanitizer the
// ordinary exit is kept, so the leak check still runs.
[[noreturn]] void ExitNow(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
#if defined(__SANITIZE_ADDRESS__)
  std::exit(code);
#else
  std::_Exit(code);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kiln::kilnctl;
  InstallSignalHandling();

  CLI::App app{"kilnctl: build utility for kilnd (buildctl-compatible)"};
  app.name("kilnctl");
  app.fallthrough();  // global flags after the subcommand too
  app.require_subcommand(1);
  GlobalOptions g;
  app.add_option("--addr", g.addr,
                 "kilnd address (default: $KILN_HOST, else unix:///run/kiln/kilnd.sock; "
                 "with neither and no daemon there, build starts a private kilnd)");
  app.add_flag("--debug", g.debug, "enable debug output in logs");

  std::vector<Command> commands;
  commands.push_back(AddBuildCommand(app, g));
  commands.push_back(AddDiskUsageCommand(app, g));
  commands.push_back(AddPruneCommand(app, g));
  CLI::App* debug = app.add_subcommand("debug", "debug utilities");
  debug->require_subcommand(1);
  commands.push_back(AddDebugWorkersCommand(*debug, g));
  commands.push_back(AddDebugDumpLlbCommand(*debug, g));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (g.debug) kiln::log::SetLevel(kiln::log::Level::kDebug);
  for (const Command& c : commands) {
    if (c.app->parsed()) ExitNow(c.run());
  }
  return 0;
}
