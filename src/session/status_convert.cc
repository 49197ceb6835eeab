#include "session/status_convert.h"

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

Status StatusFromParts(int code, const std::string& message, const std::string& details) {
  if (code == 0) return Status::Ok();
  Status out(static_cast<Code>(code), message);
  if (!details.empty()) {
    google::rpc::Status r;
    if (r.ParseFromString(details)) {
      for (const auto& any : r.details()) {
        DecodeErrorDetail(any.type_url(), any.value(), &out.mutable_details());
      }
    }
  }
  return out;
}

Status FromWireStatus(const rpc::RpcStatus& s) {
  return StatusFromParts(s.code, s.message, s.details);
}

rpc::RpcStatus ToWireStatus(const Status& s) {
  if (s.ok()) return {};
  rpc::RpcStatus out{static_cast<int>(s.code()), s.message(), ""};
  if (!EncodeErrorDetails(s.details()).empty()) out.details = ToRpcStatus(s).SerializeAsString();
  return out;
}

}  // namespace kiln::session
