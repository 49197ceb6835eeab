#pragma once
// Typed handlers over rpc::ServerCall for the services kilnctl serves in its session
// (session.h): a unary method or a stream of protobuf messages each way, the handler returning
// a kiln::Status that crosses as the call's status (typed details included). Stateless.

#include <string>
#include <string_view>
#include <utility>

#include "rpc/connection.h"
#include "session/status_convert.h"

namespace kiln::client {

// A service of the session: adds its methods' handlers (which may use `this`; the session
// keeps the service until its handlers are over).
class SessionService {
 public:
  virtual ~SessionService() = default;
  virtual void Register(rpc::Handlers& handlers) = 0;
};

// The first value of request header `key`; `fallback` when there is none.
inline std::string RequestHeader(const rpc::ServerCall& call, std::string_view key,
                                 std::string fallback = "") {
  for (const auto& [k, v] : call.metadata()) {
    if (k == key) return v;
  }
  return fallback;
}

template <class In, class Out>
class ServerStream {
 public:
  explicit ServerStream(rpc::ServerCall& call) : call_(call) {}
  // False at the end of the requests, when the call is cancelled or a message is malformed
  // (malformed() tells).
  bool Read(In* msg) {
    std::string bytes;
    if (!call_.Read(&bytes)) return false;
    if (!msg->ParseFromString(bytes)) {
      malformed_ = true;
      return false;
    }
    return true;
  }
  bool Write(const Out& msg) {
    std::string bytes;
    msg.SerializeToString(&bytes);
    return call_.Write(bytes);
  }
  bool malformed() const { return malformed_; }
  rpc::ServerCall& call() { return call_; }

 private:
  rpc::ServerCall& call_;
  bool malformed_ = false;
};

// fn: Status(rpc::ServerCall&, const Req&, Resp*).
template <class Req, class Resp, class Fn>
rpc::Handler UnaryHandler(Fn fn) {
  return [fn = std::move(fn)](rpc::ServerCall& call) -> rpc::RpcStatus {
    std::string bytes;
    Req req;
    if (!call.Read(&bytes)) {
      return session::ToWireStatus(call.cancelled() ? Cancelled("call cancelled")
                                                    : Internal("no request message"));
    }
    if (!req.ParseFromString(bytes)) return session::ToWireStatus(Internal("malformed request"));
    Resp resp;
    Status s = fn(call, req, &resp);
    if (!s.ok()) return session::ToWireStatus(s);
    resp.SerializeToString(&bytes);
    if (!call.Write(bytes)) return session::ToWireStatus(Cancelled("call cancelled"));
    return {};
  };
}

// fn: Status(ServerStream<In, Out>&).
template <class In, class Out, class Fn>
rpc::Handler StreamHandler(Fn fn) {
  return [fn = std::move(fn)](rpc::ServerCall& call) -> rpc::RpcStatus {
    ServerStream<In, Out> stream(call);
    Status s = fn(stream);
    if (s.ok() && stream.malformed()) s = Internal("malformed request message");
    return session::ToWireStatus(s);
  };
}

}  // namespace kiln::client
