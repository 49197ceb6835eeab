#pragma once
// kiln::Status <-> grpc::Status and google.rpc.Status, at every gRPC edge (daemon, client,
// session). Codes are numbered alike, so code and message cross unchanged (conventions.md);
// typed details (the failing vertex, source lines of a Dockerfile) travel in the status details
// in BuildKit's form (util/error_details.h), so BuildKit's clients show them too. Stateless.

#include <grpcpp/support/status.h>

#include "google/rpc/status.pb.h"
#include "util/status.h"

namespace kiln::session {

grpc::Status ToGrpcStatus(const Status& s);
Status FromGrpcStatus(const grpc::Status& s);

google::rpc::Status ToRpcStatus(const Status& s);
Status FromRpcStatus(const google::rpc::Status& s);

}  // namespace kiln::session
