#include "client/build.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "client/definition.h"
#include "client/gateway_build.h"
#include "client/id.h"
#include "client/oci_index.h"
#include "client/session.h"
#include "gateway/gateway.pb.h"
#include "rpc/typed.h"
#include "session/content_copy.h"
#include "session/content_read.h"
#include "session/status_convert.h"
#include "util/log.h"

namespace kiln::client {

namespace {

namespace bk = moby::buildkit::v1;
constexpr char kListWorkersMethod[] = "/moby.buildkit.v1.Control/ListWorkers";
constexpr char kSolveMethod[] = "/moby.buildkit.v1.Control/Solve";
constexpr char kStatusMethod[] = "/moby.buildkit.v1.Control/Status";
constexpr char kPingMethod[] = "/moby.buildkit.v1.frontend.LLBBridge/Ping";
namespace gw = moby::buildkit::v1::frontend;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kStatusInactivity = std::chrono::seconds(5);
constexpr auto kGatewayFailureGrace = std::chrono::seconds(5);

// Restricts --local dirs to those a definition uses; every used name must be given.
Result<std::map<std::string, std::string>> LocalsForDefinition(
    const pb::Definition& def, const std::map<std::string, std::string>& locals) {
  KILN_ASSIGN_OR_RETURN(std::set<std::string> names, LocalNames(def));
  std::map<std::string, std::string> out;
  for (const std::string& name : names) {
    auto it = locals.find(name);
    if (it == locals.end()) {
      return InvalidArgument(fmt::format("local directory {} not enabled", name));
    }
    out.insert(*it);
  }
  return out;
}

Status Cause(const Context& ctx, const rpc::RpcStatus& s) {
  if (ctx.cancelled() && s.code == static_cast<int>(Code::kCancelled)) {
    return Cancelled("context canceled");
  }
  return session::FromWireStatus(s);
}

}  // namespace

bk::SolveRequest MakeSolveRequest(const BuildRequest& req, const std::string& ref,
                                  const std::string& session_id) {
  bk::SolveRequest sreq;
  sreq.set_ref(ref);
  if (req.definition) *sreq.mutable_definition() = *req.definition;
  for (size_t i = 0; i < req.exports.size(); ++i) {
    const ExportEntry& ex = req.exports[i];
    bk::Exporter* e = sreq.add_exporters();
    e->set_type(ex.type);
    for (const auto& [k, v] : ex.attrs) (*e->mutable_attrs())[k] = v;
    if (i == 0) {
      sreq.set_exporterdeprecated(ex.type);
      for (const auto& [k, v] : ex.attrs) (*sreq.mutable_exporterattrsdeprecated())[k] = v;
    }
  }
  sreq.set_session(session_id);
  if (req.frontend_in_solve) sreq.set_frontend(req.frontend);
  for (const auto& [k, v] : req.frontend_attrs) (*sreq.mutable_frontendattrs())[k] = v;
  for (const auto& [k, v] : req.frontend_inputs) (*sreq.mutable_frontendinputs())[k] = v;
  sreq.mutable_cache();  // old daemons expect it present (gogo non-nullable)
  for (const std::string& e : req.entitlements) sreq.add_entitlements(e);
  return sreq;
}

Result<BuildResponse> Build(const Context& ctx, rpc::Connection& conn, const BuildRequest& req,
                            const StatusFn& on_status) {
  const bool gateway = !req.definition && !req.frontend.empty() && !req.frontend_in_solve;
  if (!req.definition && req.frontend.empty()) return InvalidArgument("invalid empty definition");
  if (req.definition && !req.frontend.empty()) {
    return InvalidArgument(fmt::format("invalid definition for frontend {}", req.frontend));
  }

  SessionConfig scfg;
  if (req.definition) {
    KILN_ASSIGN_OR_RETURN(scfg.local_dirs, LocalsForDefinition(*req.definition, req.local_dirs));
  } else {
    scfg.local_dirs = req.local_dirs;
  }
  for (const auto& [id, dir] : req.oci_layouts) {
    scfg.content_stores[session::OCILayoutStoreId(id)] = dir;
  }
  std::vector<std::string> layout_dirs;  // OCI layouts whose index.json is written at the end
  for (size_t i = 0; i < req.exports.size(); ++i) {
    const ExportEntry& ex = req.exports[i];
    if ((ex.type == "oci" || ex.type == "docker") && !ex.output_dir.empty()) {
      // tar=false: the daemon copies the blobs into the session's content store "export".
      if (scfg.content_stores.contains(session::kExportStoreId)) {
        return InvalidArgument(
            fmt::format("oci store key \"{}\" already exists", session::kExportStoreId));
      }
      scfg.content_stores[session::kExportStoreId] = ex.output_dir;
      layout_dirs.push_back(ex.output_dir);
      continue;
    }
    if (!ex.output_dir.empty()) scfg.export_targets[static_cast<int>(i)] = {ex.output_dir, ""};
    if (!ex.output_file.empty()) scfg.export_targets[static_cast<int>(i)] = {"", ex.output_file};
  }
  scfg.stdout_fd = req.stdout_fd;
  scfg.secrets = req.secrets;
  scfg.ssh_agents = req.ssh_agents;
  scfg.batch_sync = req.batch_sync;
  const std::string ref = req.ref.empty() ? NewId() : req.ref;
  // As BuildKit's client, the build starts by listing the daemon's workers (the answer is not
  // used here, but a daemon that cannot list them fails the build), and the frontend phase by
  // pinging LLBBridge for its caps. Both calls go out first and are waited for later, so their
  // round trips overlap the session's set-up and the build (a BuildKit daemon holds the Ping
  // until Control.Solve has registered the build; kilnd answers at once).
  rpc::Unary<bk::ListWorkersResponse> workers(conn, kListWorkersMethod, bk::ListWorkersRequest());
  auto cancel_workers = ctx.OnCancel([&workers](const Status&) { workers.Cancel(); });
  Context gw_ctx = ctx.Child();  // the client-side frontend phase; abandoned when Solve fails
  std::optional<rpc::Unary<gw::PongResponse>> ping;
  Context::CallbackHandle cancel_ping;
  if (gateway) {
    ping.emplace(conn, kPingMethod, gw::PingRequest(), PingOptions(ref));
    cancel_ping = gw_ctx.OnCancel([&ping](const Status&) { ping->Cancel(); });
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Start(conn, std::move(scfg)));
  auto cancel_session = ctx.OnCancel([s = session.get()](const Status&) { s->Abort(); });
  Context solve_ctx = ctx.Child();  // cancelled too when the frontend phase fails for good

  // Shared between the threads below.
  std::mutex mu;
  std::condition_variable cv;
  bool solve_done = false;
  bool status_done = false;
  SteadyClock::time_point last_status = SteadyClock::now();

  // Status stream.
  bk::StatusRequest status_req;
  status_req.set_ref(ref);
  std::string status_bytes;
  status_req.SerializeToString(&status_bytes);
  std::unique_ptr<rpc::Call> status_call = conn.StartCall(kStatusMethod, {}, status_bytes);
  Status status_err;
  std::thread status_thread([&] {
    bk::StatusResponse resp;
    rpc::RpcStatus parse_error;
    while (rpc::ReadMessage(*status_call, &resp, &parse_error)) {
      {
        std::lock_guard<std::mutex> lock(mu);
        last_status = SteadyClock::now();
      }
      if (on_status) on_status(resp);
    }
    rpc::RpcStatus fin = status_call->Finish();
    if (!parse_error.ok()) fin = parse_error;
    std::lock_guard<std::mutex> lock(mu);
    if (!fin.ok() && fin.code != static_cast<int>(Code::kCancelled)) {
      status_err = session::FromWireStatus(fin).Annotate("failed to receive status");
    }
    status_done = true;
    cv.notify_all();
  });
  auto cancel_status = ctx.OnCancel([&status_call](const Status&) { status_call->Cancel(); });

  // Client-side frontend phase.
  Result<GatewayResult> gw_result = GatewayResult{};
  std::thread gateway_thread;
  if (gateway) {
    gateway_thread = std::thread([&] {
      auto pong = [&ping]() -> Result<gw::PongResponse> {
        KILN_RETURN_IF_ERROR(session::FromWireStatus(ping->Wait()));
        return ping->response();
      };
      GatewayRequest greq{ref, req.frontend, req.frontend_attrs, req.frontend_inputs, pong};
      gw_result = RunGatewayBuild(gw_ctx, conn, greq);
      if (gw_result.ok()) return;
      // Control.Solve should fail as well; give it a moment before cancelling it.
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, kGatewayFailureGrace, [&] { return solve_done; })) {
        solve_ctx.Cancel(Cancelled("frontend failed"));
      }
    });
  }

  // Control.Solve runs for the whole build. It goes out at once; ListWorkers' answer is
  // checked meanwhile, and its failure cancels the build.
  rpc::Unary<bk::SolveResponse> solve(conn, kSolveMethod,
                                      MakeSolveRequest(req, ref, session->id()));
  auto cancel_solve = solve_ctx.OnCancel([&solve](const Status&) { solve.Cancel(); });
  Status workers_err = Cause(ctx, workers.Wait());
  if (!workers_err.ok()) {  // the build stops: nothing it could still report matters
    solve_ctx.Cancel(Cancelled("listing workers failed"));
    status_call->Cancel();
  }
  rpc::RpcStatus solve_status = solve.Wait();
  {
    std::lock_guard<std::mutex> lock(mu);
    solve_done = true;
    cv.notify_all();
  }
  if (!solve_status.ok()) gw_ctx.Cancel(Cancelled("the build failed"));
  // cancel_session stays armed while closing: closing can wait on the daemon (up to the close
  // grace), and a Ctrl-C then must abort the session at once, not be swallowed.
  if (req.session_ends_with_process) {
    Session::EndWithProcess(std::move(session));
  } else if (Status closed = session->Close(); !closed.ok()) {
    log::Debug("{}", closed.ToString());
  }

  // The Status stream ends with the job; old daemons may keep it open, so stop waiting after
  // a quiet period.
  {
    std::unique_lock<std::mutex> lock(mu);
    while (!status_done) {
      auto deadline = last_status + kStatusInactivity;
      if (cv.wait_until(lock, deadline, [&] { return status_done; })) break;
      if (SteadyClock::now() >= last_status + kStatusInactivity) {
        status_call->Cancel();
        break;
      }
    }
  }
  status_thread.join();
  if (gateway_thread.joinable()) gateway_thread.join();

  if (!workers_err.ok() && !ctx.cancelled()) {
    return workers_err.Annotate("listing workers for Build");
  }
  if (!solve_status.ok()) {
    Status s = Cause(ctx, solve_status);
    if (!ctx.cancelled() && !gw_result.ok() && solve_ctx.cancelled()) s = gw_result.status();
    return s.Annotate("failed to solve");
  }
  if (!gw_result.ok()) return gw_result.status().Annotate("failed to run Build function");
  if (!status_err.ok() && !ctx.cancelled()) return status_err;

  BuildResponse out;
  for (const auto& [k, v] : solve.response().exporterresponse()) out.exporter_response[k] = v;
  if (gw_result.ok()) out.frontend_metadata = gw_result->metadata;
  for (const std::string& dir : layout_dirs) {
    KILN_RETURN_IF_ERROR(UpdateOciLayout(dir, out.exporter_response));
  }
  return out;
}

}  // namespace kiln::client
