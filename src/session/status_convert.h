#pragma once
// kiln::Status <-> google.rpc.Status and the status of kiln's own transport (rpc/wire.h), at
// the edges that carry no gRPC C++ types (kilnctl's calls, the session it serves, the
// gateway's Return). Codes are numbered alike, so code and message cross unchanged
// (conventions.md); typed details (the failing vertex, source lines of a Dockerfile) travel in
// the status details in BuildKit's form (util/error_details.h), so BuildKit's clients show them
// too. grpc_status.h does the same for grpc::Status. Stateless.

#include <string>

#include "google/rpc/status.pb.h"
#include "rpc/wire.h"
#include "util/status.h"

namespace kiln::session {

google::rpc::Status ToRpcStatus(const Status& s);
Status FromRpcStatus(const google::rpc::Status& s);

rpc::RpcStatus ToWireStatus(const Status& s);
Status FromWireStatus(const rpc::RpcStatus& s);

// A status from its parts, `details` a serialized google.rpc.Status ("" for none).
Status StatusFromParts(int code, const std::string& message, const std::string& details);

}  // namespace kiln::session
