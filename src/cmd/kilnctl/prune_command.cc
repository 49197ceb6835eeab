// kilnctl prune: Control.Prune's stream of released records, printed as they arrive, then
// "Total: <size>", as buildctl prune does.

#include <fmt/format.h>

#include "client/go_format.h"
#include "client/progress_trace.h"
#include "client/tabwriter.h"
#include "client/usage_format.h"
#include "cmd/kilnctl/commands.h"
#include "control/control.pb.h"
#include "rpc/typed.h"
#include "session/status_convert.h"

namespace kiln::kilnctl {

namespace {

struct PruneFlags {
  std::string keep_duration;
  double keep_storage = 0;      // MB
  double keep_storage_min = 0;  // MB
  double free_storage = 0;      // MB
  std::vector<std::string> filters;
  bool all = false;
  bool verbose = false;
};

int RunPrune(const GlobalOptions& g, const PruneFlags& f) {
  moby::buildkit::v1::PruneRequest req;
  if (!f.keep_duration.empty()) {
    std::optional<int64_t> d = client::ParseGoDuration(f.keep_duration);
    if (!d) {
      return ReportError(InvalidArgument(fmt::format(
          "invalid value \"{}\" for flag -keep-duration: parse error", f.keep_duration)));
    }
    req.set_keepduration(*d);
  }
  req.set_reservedspace(static_cast<int64_t>(f.keep_storage_min * 1e6));
  req.set_maxusedspace(static_cast<int64_t>(f.keep_storage * 1e6));
  req.set_minfreespace(static_cast<int64_t>(f.free_storage * 1e6));
  req.set_all(f.all);
  for (const std::string& filter : f.filters) req.add_filter(filter);

  auto conn = Connect(g, /*allow_embedded=*/false);
  if (!conn.ok()) return ReportError(conn.status());
  std::string bytes;
  req.SerializeToString(&bytes);
  std::unique_ptr<rpc::Call> call =
      conn->rpc->StartCall("/moby.buildkit.v1.Control/Prune", {}, bytes);
  auto hook = RootContext().OnCancel([&call](const Status&) { call->Cancel(); });
  rpc::RpcStatus parse_error;

  client::TabWriter tw;
  bool first = true;
  int64_t total = 0;
  int64_t now = client::progress::SystemNow();
  moby::buildkit::v1::UsageRecord r;
  while (rpc::ReadMessage(*call, &r, &parse_error)) {
    total += r.size();
    if (f.verbose) {
      tw.Write(client::UsageVerbose(r, now));
      PrintStdout(tw.Flush());
      continue;
    }
    if (first) {
      tw.Write(client::UsageTableHeader());
      first = false;
    }
    tw.Write(client::UsageTableRow(r, now));
    // Printed as it arrives; the header stays aligned because the ID column is fixed-width.
    PrintStdout(tw.Flush());
  }
  rpc::RpcStatus fin = call->Finish();
  Status s = session::FromWireStatus(parse_error.ok() ? fin : parse_error);
  if (!s.ok()) return ReportError(s.Annotate("failed to call prune"));
  PrintStdout(client::PruneTotal(total));
  return 0;
}

}  // namespace

Command AddPruneCommand(CLI::App& app, const GlobalOptions& g) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* cmd = app.add_subcommand("prune", "clean up build cache");
  cmd->add_option("--keep-duration", flags->keep_duration, "Keep data newer than this limit");
  cmd->add_option("--keep-storage", flags->keep_storage, "Keep data below this limit (in MB)");
  cmd->add_option("--keep-storage-min", flags->keep_storage_min,
                  "Always allow data above this limit (in MB)");
  cmd->add_option("--free-storage", flags->free_storage, "Keep free data below this limit (in MB)");
  cmd->add_option("-f,--filter", flags->filters, "Filter records")->allow_extra_args(false);
  cmd->add_flag("--all", flags->all, "Include internal/frontend references");
  cmd->add_flag("-v,--verbose", flags->verbose, "Verbose output");
  return Command{cmd, [&g, flags] { return RunPrune(g, *flags); }};
}

}  // namespace kiln::kilnctl
