#include "client/gateway_build.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "rpc/typed.h"
#include "session/status_convert.h"
#include "util/base64.h"

namespace kiln::client {

namespace {

namespace gw = moby::buildkit::v1::frontend;

constexpr auto kPingTimeout = std::chrono::seconds(15);

constexpr char kPingMethod[] = "/moby.buildkit.v1.frontend.LLBBridge/Ping";
constexpr char kSolveMethod[] = "/moby.buildkit.v1.frontend.LLBBridge/Solve";
constexpr char kReturnMethod[] = "/moby.buildkit.v1.frontend.LLBBridge/Return";

// One LLBBridge call of build `ref`, cancelled with `ctx`.
template <class Response, class Request>
Result<Response> BridgeCall(const Context& ctx, rpc::Connection& conn, const char* method,
                            const std::string& ref, const Request& req) {
  rpc::CallOptions opts;
  opts.metadata = {{"buildkit-controlapi-buildid", ref}};
  rpc::Unary<Response> call(conn, method, req, opts);
  auto hook = ctx.OnCancel([&call](const Status&) { call.Cancel(); });
  KILN_RETURN_IF_ERROR(session::FromWireStatus(call.Wait()));
  return call.response();
}

bool HasCap(const gw::PongResponse& pong, const std::string& id) {
  for (const auto& cap : pong.frontendapicaps()) {
    if (cap.id() == id) return cap.enabled();
  }
  return false;
}

Status ReturnError(const Context& ctx, rpc::Connection& conn, const std::string& ref,
                   const Status& err) {
  gw::ReturnRequest req;
  *req.mutable_error() = session::ToRpcStatus(err);  // typed details go back too
  return BridgeCall<gw::ReturnResponse>(ctx, conn, kReturnMethod, ref, req).status();
}

}  // namespace

rpc::CallOptions PingOptions(const std::string& ref) {
  rpc::CallOptions opts;
  opts.metadata = {{"buildkit-controlapi-buildid", ref}};
  opts.deadline = rpc::Clock::now() + kPingTimeout;
  return opts;
}

Result<GatewayResult> RunGatewayBuild(const Context& ctx, rpc::Connection& conn,
                                      const GatewayRequest& req) {
  gw::PongResponse pong;
  if (req.pong) {
    KILN_ASSIGN_OR_RETURN(pong, req.pong());
  } else {
    rpc::Unary<gw::PongResponse> call(conn, kPingMethod, gw::PingRequest(), PingOptions(req.ref));
    auto hook = ctx.OnCancel([&call](const Status&) { call.Cancel(); });
    KILN_RETURN_IF_ERROR(session::FromWireStatus(call.Wait()));
    pong = call.response();
  }
  // Without caps the daemon predates them: it expects the legacy inline return.
  bool use_return = HasCap(pong, "return");
  bool ref_array = HasCap(pong, "proto.refarray");

  gw::SolveRequest sreq;
  sreq.set_frontend(req.frontend);
  for (const auto& [k, v] : req.frontend_opt) (*sreq.mutable_frontendopt())[k] = v;
  for (const auto& [k, v] : req.frontend_inputs) (*sreq.mutable_frontendinputs())[k] = v;
  sreq.set_allowresultreturn(true);
  sreq.set_allowresultarrayref(true);
  if (!use_return) sreq.set_exporterattr("{}");

  Result<gw::SolveResponse> sresp =
      BridgeCall<gw::SolveResponse>(ctx, conn, kSolveMethod, req.ref, sreq);
  if (!sresp.ok()) {
    if (use_return) ReturnError(ctx, conn, req.ref, sresp.status()).IgnoreError();
    return sresp.status();
  }

  gw::Result result = sresp->result();
  GatewayResult out;
  for (const auto& [k, v] : result.metadata()) out.metadata[k] = v;

  if (!use_return) {
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& [k, v] : result.metadata()) attrs[k] = Base64Encode(v);
    sreq.set_final(true);
    sreq.set_exporterattr(attrs.dump());
    KILN_RETURN_IF_ERROR(BridgeCall<gw::SolveResponse>(ctx, conn, kSolveMethod, req.ref, sreq)
                             .status()
                             .Annotate("failed to solve"));
    return out;
  }

  if (!ref_array) {  // the daemon wants plain ref ids
    if (result.has_ref()) {
      std::string id = result.ref().id();
      result.set_refdeprecated(id);
    } else if (result.has_refs()) {
      gw::RefMapDeprecated m;
      for (const auto& [k, r] : result.refs().refs()) (*m.mutable_refs())[k] = r.id();
      *result.mutable_refsdeprecated() = std::move(m);
    }
  }
  gw::ReturnRequest rreq;
  *rreq.mutable_result() = std::move(result);
  KILN_RETURN_IF_ERROR(
      BridgeCall<gw::ReturnResponse>(ctx, conn, kReturnMethod, req.ref, rreq).status());
  return out;
}

}  // namespace kiln::client
