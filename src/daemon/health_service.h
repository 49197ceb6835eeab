#pragma once
// grpc.health.v1.Health on kilnd's socket, as BuildKit's daemon serves it (grpc-go's health
// server): the server as a whole ("") is SERVING; any other service name is unknown.
//
// Our own synchronous service rather than gRPC's default one: gRPC 1.51 implements that one
// with its callback API, and a server with any callback service gets extra "nexting" threads
// that take part in polling the daemon's sockets, which added thread hand-offs to every call.

#include <utility>

#include "grpc/health/v1/health.grpc.pb.h"
#include "util/context.h"

namespace kiln::daemon {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  // `daemon` is cancelled when the daemon shuts down, which ends open watches.
  explicit HealthService(Context daemon) : daemon_(std::move(daemon)) {}

  grpc::Status Check(grpc::ServerContext* sc, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::health::v1::HealthCheckResponse* resp) override;
  // Sends the status once and keeps the stream open until the client or the daemon ends it.
  grpc::Status Watch(grpc::ServerContext* sc, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;
  grpc::Status List(grpc::ServerContext* sc, const grpc::health::v1::HealthListRequest* req,
                    grpc::health::v1::HealthListResponse* resp) override;

 private:
  Context daemon_;
};

}  // namespace kiln::daemon
