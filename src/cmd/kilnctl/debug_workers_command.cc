// kilnctl debug workers: Control.ListWorkers as a table (or --verbose blocks).

#include "client/workers_format.h"
#include "cmd/kilnctl/commands.h"
#include "control/control.pb.h"
#include "rpc/typed.h"
#include "session/status_convert.h"

namespace kiln::kilnctl {

namespace {

struct WorkersFlags {
  std::vector<std::string> filters;
  bool verbose = false;
};

int RunWorkers(const GlobalOptions& g, const WorkersFlags& f) {
  auto conn = Connect(g, /*allow_embedded=*/false);
  if (!conn.ok()) return ReportError(conn.status());
  moby::buildkit::v1::ListWorkersRequest req;
  for (const std::string& filter : f.filters) req.add_filter(filter);
  rpc::Unary<moby::buildkit::v1::ListWorkersResponse> call(
      *conn->rpc, "/moby.buildkit.v1.Control/ListWorkers", req);
  auto hook = RootContext().OnCancel([&call](const Status&) { call.Cancel(); });
  Status s = session::FromWireStatus(call.Wait());
  if (!s.ok()) return ReportError(s.Annotate("failed to list workers"));
  PrintStdout(client::FormatWorkers(call.response(), f.verbose));
  return 0;
}

}  // namespace

Command AddDebugWorkersCommand(CLI::App& debug, const GlobalOptions& g) {
  auto flags = std::make_shared<WorkersFlags>();
  CLI::App* cmd = debug.add_subcommand("workers", "list workers");
  cmd->add_option("-f,--filter", flags->filters, "containerd-style filter string slice")
      ->allow_extra_args(false);
  cmd->add_flag("-v,--verbose", flags->verbose, "Verbose output");
  return Command{cmd, [&g, flags] { return RunWorkers(g, *flags); }};
}

}  // namespace kiln::kilnctl
