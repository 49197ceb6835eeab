#pragma once
// grpc.health.v1.Health as the session serves it: the daemon checks the client every few
// seconds and closes the session after repeated failures (wire-protocol.md §4.2). Always
// SERVING while the session runs. Thread-safe.

#include "client/session_handlers.h"
#include "grpc/health/v1/health.pb.h"

namespace kiln::client {

inline constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

class HealthService final : public SessionService {
 public:
  void Register(rpc::Handlers& handlers) override {
    using grpc::health::v1::HealthCheckRequest;
    using grpc::health::v1::HealthCheckResponse;
    handlers[kHealthCheck] = UnaryHandler<HealthCheckRequest, HealthCheckResponse>(
        [](rpc::ServerCall&, const HealthCheckRequest&, HealthCheckResponse* resp) {
          resp->set_status(HealthCheckResponse::SERVING);
          return Status::Ok();
        });
  }
};

}  // namespace kiln::client
