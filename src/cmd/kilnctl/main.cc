// kilnctl: the command-line client of kilnd, with buildctl's commands, flags and output.

#include <grpc/grpc.h>

#include <CLI/CLI.hpp>
#include <vector>

#include "cmd/kilnctl/commands.h"
#include "cmd/kilnctl/common.h"
#include "util/log.h"

int main(int argc, char** argv) {
  using namespace kiln::kilnctl;
  InstallSignalHandling();
  // One gRPC library reference held until exit: gRPC's library-wide shutdown (when the last
  // channel or server goes) joins executor threads that can sit in a poll for up to 10 s after a
  // session (gRPC 1.51), which made kilnctl linger after a build or a Ctrl-C now and then.
  grpc_init();

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
    if (c.app->parsed()) return c.run();
  }
  return 0;
}
