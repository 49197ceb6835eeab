#include "daemon/health_service.h"

#include <chrono>

#include "daemon/grpc_util.h"

namespace kiln::daemon {

namespace {

using grpc::health::v1::HealthCheckResponse;

bool Known(const std::string& service) { return service.empty(); }

}  // namespace

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  HealthCheckResponse* resp) {
  if (!Known(req->service())) return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
  resp->set_status(HealthCheckResponse::SERVING);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* sc,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  CallContext cc(daemon_, sc);
  HealthCheckResponse resp;
  resp.set_status(Known(req->service()) ? HealthCheckResponse::SERVING
                                        : HealthCheckResponse::SERVICE_UNKNOWN);
  if (!writer->Write(resp)) return grpc::Status::OK;
  // The status never changes while the daemon runs: wait for the end of the call.
  while (cc.ctx().Sleep(std::chrono::hours(1)).ok()) {
  }
  if (daemon_.cancelled()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "kilnd is shutting down");
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "the client ended the watch");
}

grpc::Status HealthService::List(grpc::ServerContext*, const grpc::health::v1::HealthListRequest*,
                                 grpc::health::v1::HealthListResponse* resp) {
  (*resp->mutable_statuses())[""].set_status(HealthCheckResponse::SERVING);
  return grpc::Status::OK;
}

}  // namespace kiln::daemon
