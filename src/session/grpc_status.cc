#include "session/grpc_status.h"

#include "util/error_details.h"

namespace kiln::session {

google::rpc::Status ToRpcStatus(const Status& s) {
  google::rpc::Status r;
  r.set_code(static_cast<int>(s.code()));
  r.set_message(s.message());
  for (const auto& d : EncodeErrorDetails(s.details())) {
    auto* any = r.add_details();
    any->set_type_url(d.type_url);
    any->set_value(d.value);
  }
  return r;
}

Status FromRpcStatus(const google::rpc::Status& r) {
  if (r.code() == 0) return Status::Ok();
  Status s(static_cast<Code>(r.code()), r.message());
  for (const auto& any : r.details())
    DecodeErrorDetail(any.type_url(), any.value(), &s.mutable_details());
  return s;
}

grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(s.code());
  if (EncodeErrorDetails(s.details()).empty()) return grpc::Status(code, s.message());
  return grpc::Status(code, s.message(), ToRpcStatus(s).SerializeAsString());
}

Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  Status out(static_cast<Code>(s.error_code()), s.error_message());
  if (!s.error_details().empty()) {
    google::rpc::Status r;
    if (r.ParseFromString(s.error_details())) {
      for (const auto& any : r.details()) {
        DecodeErrorDetail(any.type_url(), any.value(), &out.mutable_details());
      }
    }
  }
  return out;
}

}  // namespace kiln::session
