#pragma once
// kiln::Status <-> grpc::Status. Codes are numbered alike, so the conversion keeps code and
// message unchanged (conventions.md: errors cross the gRPC edge as they are). Stateless.

#include <grpcpp/support/status.h>

#include "util/status.h"

namespace kiln::client {

grpc::Status ToGrpcStatus(const Status& s);
Status FromGrpcStatus(const grpc::Status& s);

}  // namespace kiln::client
