#include "session/grpc_status.h"

#include "util/error_details.h"

namespace kiln::session {

grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(s.code());
  if (EncodeErrorDetails(s.details()).empty()) return grpc::Status(code, s.message());
  return grpc::Status(code, s.message(), ToRpcStatus(s).SerializeAsString());
}

Status FromGrpcStatus(const grpc::Status& s) {
  return StatusFromParts(s.error_code(), s.error_message(), s.error_details());
}

}  // namespace kiln::session
