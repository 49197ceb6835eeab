#pragma once
// moby.buildkit.v1.frontend.LLBBridge on the main socket: the client-side gateway flow of
// buildctl >= v0.11 and buildx (wire-protocol.md §1.8, §3.6). Calls carry the build ref in the
// `buildkit-controlapi-buildid` header and are routed to that job.

#include "daemon/core.h"
#include "gateway/gateway.grpc.pb.h"

namespace kiln::daemon {

class BridgeService final : public moby::buildkit::v1::frontend::LLBBridge::Service {
 public:
  explicit BridgeService(Core* core) : core_(core) {}

  grpc::Status Ping(grpc::ServerContext*, const moby::buildkit::v1::frontend::PingRequest*,
                    moby::buildkit::v1::frontend::PongResponse*) override;
  grpc::Status Solve(grpc::ServerContext*, const moby::buildkit::v1::frontend::SolveRequest*,
                     moby::buildkit::v1::frontend::SolveResponse*) override;
  grpc::Status Return(grpc::ServerContext*, const moby::buildkit::v1::frontend::ReturnRequest*,
                      moby::buildkit::v1::frontend::ReturnResponse*) override;
  grpc::Status ReadFile(grpc::ServerContext*, const moby::buildkit::v1::frontend::ReadFileRequest*,
                        moby::buildkit::v1::frontend::ReadFileResponse*) override;
  grpc::Status Evaluate(grpc::ServerContext*, const moby::buildkit::v1::frontend::EvaluateRequest*,
                        moby::buildkit::v1::frontend::EvaluateResponse*) override;
  grpc::Status ResolveImageConfig(grpc::ServerContext*,
                                  const moby::buildkit::v1::frontend::ResolveImageConfigRequest*,
                                  moby::buildkit::v1::frontend::ResolveImageConfigResponse*) override;
  grpc::Status Warn(grpc::ServerContext*, const moby::buildkit::v1::frontend::WarnRequest*,
                    moby::buildkit::v1::frontend::WarnResponse*) override;
  // The build's frontend inputs (Control.Solve's FrontendInputs), as BuildKit's forwarder.
  grpc::Status Inputs(grpc::ServerContext*, const moby::buildkit::v1::frontend::InputsRequest*,
                      moby::buildkit::v1::frontend::InputsResponse*) override;

 private:
  Result<std::shared_ptr<BuildJob>> JobOf(const Context& ctx, grpc::ServerContext* sc);
  Core* core_;
};

// The caps we advertise through Ping (only what is implemented).
std::vector<std::string> FrontendAPICaps();

}  // namespace kiln::daemon
