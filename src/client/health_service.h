#pragma once
// grpc.health.v1.Health as the session serves it: the daemon checks the client every few
// seconds and closes the session after repeated failures (wire-protocol.md §4.2). Always
// SERVING while the session runs. Thread-safe.

#include "grpc/health/v1/health.grpc.pb.h"

namespace kiln::client {

inline constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::health::v1::HealthCheckResponse* resp) override {
    resp->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};

}  // namespace kiln::client
