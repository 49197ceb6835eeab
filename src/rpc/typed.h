#pragma once
// Protobuf messages over rpc::Call: templates on the message types, so this module includes no
// protobuf header (generated classes have SerializeToString and ParseFromString). Unary starts
// a unary call at once and waits for it only when asked (several can be in flight);
// ReadMessage reads the next message of a stream. Thread-compatible.

#include <memory>
#include <string>
#include <string_view>

#include "rpc/connection.h"

namespace kiln::rpc {

template <class Message>
bool ReadMessage(Call& call, Message* out, RpcStatus* parse_error) {
  std::string bytes;
  if (!call.Read(&bytes)) return false;
  if (!out->ParseFromString(bytes)) {
    *parse_error = {13, "cannot parse the response message", ""};
    call.Cancel();
    return false;
  }
  return true;
}

template <class Response>
class Unary {
 public:
  template <class Request>
  Unary(Connection& conn, std::string_view path, const Request& request,
        const CallOptions& opts = {}) {
    std::string bytes;
    request.SerializeToString(&bytes);
    call_ = conn.StartCall(path, opts, bytes);
  }

  // The call's status; the response is valid when it is OK. Idempotent.
  const RpcStatus& Wait() {
    if (waited_) return status_;
    waited_ = true;
    std::string bytes;
    bool got = call_->Read(&bytes);
    status_ = call_->Finish();
    if (status_.ok()) {
      if (!got) {
        status_ = {13, "the daemon sent no response message", ""};
      } else if (!response_.ParseFromString(bytes)) {
        status_ = {13, "cannot parse the response message", ""};
      }
    }
    return status_;
  }
  const Response& response() const { return response_; }
  void Cancel() { call_->Cancel(); }

 private:
  std::unique_ptr<Call> call_;
  bool waited_ = false;
  RpcStatus status_;
  Response response_;
};

}  // namespace kiln::rpc
