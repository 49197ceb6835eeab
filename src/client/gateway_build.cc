#include "client/gateway_build.h"

#include <grpcpp/client_context.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "util/base64.h"
#include "session/grpc_status.h"

namespace kiln::client {

namespace {

namespace gw = moby::buildkit::v1::frontend;

constexpr auto kPingTimeout = std::chrono::seconds(15);

// A ClientContext for one LLBBridge call of this build, cancelled with `ctx`.
class CallContext {
 public:
  CallContext(const Context& ctx, const std::string& ref) {
    call_.AddMetadata("buildkit-controlapi-buildid", ref);
    hook_ = ctx.OnCancel([this](const Status&) { call_.TryCancel(); });
  }
  grpc::ClientContext* get() { return &call_; }

 private:
  grpc::ClientContext call_;
  Context::CallbackHandle hook_;
};

bool HasCap(const gw::PongResponse& pong, const std::string& id) {
  for (const auto& cap : pong.frontendapicaps()) {
    if (cap.id() == id) return cap.enabled();
  }
  return false;
}

Status ReturnError(const Context& ctx, gw::LLBBridge::StubInterface* bridge, const std::string& ref,
                   const Status& err) {
  gw::ReturnRequest req;
  *req.mutable_error() = session::ToRpcStatus(err);  // typed details go back too
  gw::ReturnResponse resp;
  CallContext call(ctx, ref);
  return session::FromGrpcStatus(bridge->Return(call.get(), req, &resp));
}

}  // namespace

void PreparePing(grpc::ClientContext* cc, const std::string& ref) {
  cc->AddMetadata("buildkit-controlapi-buildid", ref);
  cc->set_deadline(std::chrono::system_clock::now() + kPingTimeout);
}

Result<GatewayResult> RunGatewayBuild(const Context& ctx, gw::LLBBridge::StubInterface* bridge,
                                      const GatewayRequest& req) {
  gw::PongResponse pong;
  if (req.pong) {
    KILN_ASSIGN_OR_RETURN(pong, req.pong());
  } else {
    grpc::ClientContext call;
    PreparePing(&call, req.ref);
    auto hook = ctx.OnCancel([&call](const Status&) { call.TryCancel(); });
    KILN_RETURN_IF_ERROR(session::FromGrpcStatus(bridge->Ping(&call, gw::PingRequest(), &pong)));
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

  gw::SolveResponse sresp;
  Status solved;
  {
    CallContext call(ctx, req.ref);
    solved = session::FromGrpcStatus(bridge->Solve(call.get(), sreq, &sresp));
  }
  if (!solved.ok()) {
    if (use_return) ReturnError(ctx, bridge, req.ref, solved).IgnoreError();
    return solved;
  }

  gw::Result result = sresp.result();
  GatewayResult out;
  for (const auto& [k, v] : result.metadata()) out.metadata[k] = v;

  if (!use_return) {
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& [k, v] : result.metadata()) attrs[k] = Base64Encode(v);
    sreq.set_final(true);
    sreq.set_exporterattr(attrs.dump());
    gw::SolveResponse final_resp;
    CallContext call(ctx, req.ref);
    KILN_RETURN_IF_ERROR(
        session::FromGrpcStatus(bridge->Solve(call.get(), sreq, &final_resp)).Annotate("failed to solve"));
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
  gw::ReturnResponse rresp;
  CallContext call(ctx, req.ref);
  KILN_RETURN_IF_ERROR(session::FromGrpcStatus(bridge->Return(call.get(), rreq, &rresp)));
  return out;
}

}  // namespace kiln::client
