#pragma once
// Helpers at the gRPC edge of the daemon: Status conversion and turning a server call's
// cancellation into a Context cancellation.

#include <grpcpp/grpcpp.h>

#include "session/grpc_status.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::daemon {

// Code, message and typed details (session/grpc_status.h).
inline grpc::Status ToGrpc(const Status& s) { return session::ToGrpcStatus(s); }

// A build's failure (Control.Solve, LLBBridge.Solve) as BuildKit's daemon sends it. BuildKit
// gives the failures of a build no code (bad input such as a Dockerfile that does not parse,
// a missing COPY source or image, a registry that cannot be reached or refuses the
// credentials), and its clients print any code other than Unknown before the message: buildctl
// showed "failed to solve: InvalidArgument: dockerfile parse error ...", "failed to solve:
// NotFound: failed to compute cache key: ..." and "failed to solve: Unavailable: ...". They go
// out as Unknown; the codes clients act on (Canceled, DeadlineExceeded, Unimplemented) are
// kept. The message and typed details are unchanged.
grpc::Status BuildErrorToGrpc(const Status& s);

// A child of `parent` cancelled when the client cancels or disconnects the call. The sync API
// has no callback for that: one watcher thread of the daemon polls IsCancelled of every live
// call (every 50 ms while there is one). Registering and leaving wake no thread, so a call
// costs no thread hand-off of its own; destruction does not wait for the next poll.
class CallContext {
 public:
  CallContext(const Context& parent, grpc::ServerContext* sc);
  ~CallContext();
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;
  const Context& ctx() const { return ctx_; }

 private:
  Context ctx_;
};

// First value of a client metadata key, or "".
std::string Metadata(const grpc::ServerContext* sc, const std::string& key);

}  // namespace kiln::daemon
