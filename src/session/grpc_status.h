#pragma once
// kiln::Status <-> grpc::Status, at the gRPC C++ edges (the daemon, the session manager). Codes
// and messages cross unchanged; typed details go in the status details as status_convert.h
// encodes them. Stateless.

#include <grpcpp/support/status.h>

#include "session/status_convert.h"

namespace kiln::session {

grpc::Status ToGrpcStatus(const Status& s);
Status FromGrpcStatus(const grpc::Status& s);

}  // namespace kiln::session
