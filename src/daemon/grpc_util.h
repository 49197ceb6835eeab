#pragma once
// Helpers at the gRPC edge of the daemon: Status conversion and turning a server call's
// cancellation into a Context cancellation.

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>

#include "session/grpc_status.h"
#include "util/context.h"
#include "util/status.h"
#include "util/thread_cache.h"

namespace kiln::daemon {

// Code, message and typed details (session/grpc_status.h).
inline grpc::Status ToGrpc(const Status& s) { return session::ToGrpcStatus(s); }

// A child of `parent` cancelled when the client cancels or disconnects the call. Polls the
// sync API's IsCancelled (it has no callback) until destroyed; destruction does not wait for
// the next poll.
class CallContext {
 public:
  CallContext(const Context& parent, grpc::ServerContext* sc);
  ~CallContext();
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;
  const Context& ctx() const { return ctx_; }

 private:
  Context ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  CachedThread watcher_;
};

// First value of a client metadata key, or "".
std::string Metadata(const grpc::ServerContext* sc, const std::string& key);

}  // namespace kiln::daemon
