// kilnctl du: Control.DiskUsage printed as buildctl du prints it.

#include <chrono>

#include "client/progress_trace.h"
#include "client/usage_format.h"
#include "cmd/kilnctl/commands.h"
#include "control/control.pb.h"
#include "rpc/typed.h"
#include "session/status_convert.h"

namespace kiln::kilnctl {

namespace {

struct DuFlags {
  std::vector<std::string> filters;
  bool verbose = false;
};

int RunDiskUsage(const GlobalOptions& g, const DuFlags& f) {
  auto conn = Connect(g, /*allow_embedded=*/false);
  if (!conn.ok()) return ReportError(conn.status());
  moby::buildkit::v1::DiskUsageRequest req;
  for (const std::string& filter : f.filters) req.add_filter(filter);
  rpc::Unary<moby::buildkit::v1::DiskUsageResponse> call(
      *conn->rpc, "/moby.buildkit.v1.Control/DiskUsage", req);
  auto hook = RootContext().OnCancel([&call](const Status&) { call.Cancel(); });
  Status s = session::FromWireStatus(call.Wait());
  if (!s.ok()) return ReportError(s.Annotate("failed to call diskusage"));
  const moby::buildkit::v1::DiskUsageResponse& resp = call.response();

  std::vector<moby::buildkit::v1::UsageRecord> records(resp.record().begin(), resp.record().end());
  client::SortUsage(&records);
  PrintStdout(client::FormatDiskUsage(records, f.verbose, f.filters.empty(),
                                      client::progress::SystemNow()));
  return 0;
}

}  // namespace

Command AddDiskUsageCommand(CLI::App& app, const GlobalOptions& g) {
  auto flags = std::make_shared<DuFlags>();
  CLI::App* cmd = app.add_subcommand("du", "disk usage");
  cmd->add_option("-f,--filter", flags->filters, "Filter records")->allow_extra_args(false);
  cmd->add_flag("-v,--verbose", flags->verbose, "Verbose output");
  return Command{cmd, [&g, flags] { return RunDiskUsage(g, *flags); }};
}

}  // namespace kiln::kilnctl
