#pragma once
// The client-side frontend phase of a build, as buildctl >= v0.11 runs it (wire-protocol.md
// §1.8, §3.6): on the main socket, with metadata `buildkit-controlapi-buildid: <ref>`, Ping
// (15 s; or a Ping the caller already sent, GatewayRequest::pong), then
// LLBBridge.Solve{Frontend, FrontendOpt, AllowResultReturn, AllowResultArrayRef},
// then Return with the solved result, or with the error so the daemon's Control.Solve fails
// with it. Daemons without the `return` cap get the legacy Solve{Final} instead. The call is
// made while Control.Solve for the same ref is running. Thread-compatible.

#include <functional>
#include <map>
#include <string>

#include "gateway/gateway.pb.h"
#include "rpc/connection.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::client {

struct GatewayRequest {
  std::string ref;  // SolveRequest.Ref of the Control.Solve this belongs to
  std::string frontend;
  std::map<std::string, std::string> frontend_opt;
  std::map<std::string, pb::Definition> frontend_inputs;
  // The answer to a Ping sent earlier (see PingOptions); unset: RunGatewayBuild pings.
  std::function<Result<moby::buildkit::v1::frontend::PongResponse>()> pong;
};

// The metadata and deadline of a Ping for build `ref`.
rpc::CallOptions PingOptions(const std::string& ref);

struct GatewayResult {
  std::map<std::string, std::string> metadata;  // Result.metadata (e.g. result.txt)
};

Result<GatewayResult> RunGatewayBuild(const Context& ctx, rpc::Connection& conn,
                                      const GatewayRequest& req);

}  // namespace kiln::client
