// kilnctl debug workers: Control.ListWorkers as a table (or --verbose blocks).

#include <grpcpp/client_context.h>

#include "session/grpc_status.h"
#include "client/workers_format.h"
#include "cmd/kilnctl/commands.h"
#include "control/control.grpc.pb.h"

namespace kiln::kilnctl {

namespace {

struct WorkersFlags {
  std::vector<std::string> filters;
  bool verbose = false;
};

int RunWorkers(const GlobalOptions& g, const WorkersFlags& f) {
  auto conn = Connect(g, /*allow_embedded=*/false);
  if (!conn.ok()) return ReportError(conn.status());
  auto control = moby::buildkit::v1::Control::NewStub(conn->channel);
  grpc::ClientContext call;
  auto hook = RootContext().OnCancel([&call](const Status&) { call.TryCancel(); });
  moby::buildkit::v1::ListWorkersRequest req;
  for (const std::string& filter : f.filters) req.add_filter(filter);
  moby::buildkit::v1::ListWorkersResponse resp;
  Status s = session::FromGrpcStatus(control->ListWorkers(&call, req, &resp));
  if (!s.ok()) return ReportError(s.Annotate("failed to list workers"));
  PrintStdout(client::FormatWorkers(resp, f.verbose));
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
