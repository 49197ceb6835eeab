#pragma once
// kilnctl's subcommands, one file each. Each Add* registers a subcommand and its flags on
// `app` and returns it with the function that runs it (after parsing) and gives the exit code.

#include <CLI/CLI.hpp>
#include <functional>

#include "cmd/kilnctl/common.h"

namespace kiln::kilnctl {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command AddBuildCommand(CLI::App& app, const GlobalOptions& g);
Command AddDiskUsageCommand(CLI::App& app, const GlobalOptions& g);
Command AddPruneCommand(CLI::App& app, const GlobalOptions& g);
// Under `kilnctl debug`.
Command AddDebugWorkersCommand(CLI::App& debug, const GlobalOptions& g);
Command AddDebugDumpLlbCommand(CLI::App& debug, const GlobalOptions& g);

}  // namespace kiln::kilnctl
