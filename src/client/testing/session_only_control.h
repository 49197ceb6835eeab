#pragma once
// Control/Session only, for tests of kilnctl's session services against the daemon's real
// session::Manager: the stream is handed to the manager as kilnd's ControlService does.
// Thread-safe.

#include <grpcpp/grpcpp.h>

#include <string>

#include "control/control.grpc.pb.h"
#include "session/session.h"

namespace kiln::client::testing {

class SessionOnlyControl final : public moby::buildkit::v1::Control::Service {
 public:
  explicit SessionOnlyControl(session::Manager* m) : m_(m) {}
  grpc::Status Session(
      grpc::ServerContext* sc,
      grpc::ServerReaderWriter<moby::buildkit::v1::BytesMessage, moby::buildkit::v1::BytesMessage>*
          stream) override {
    session::SessionHeaders h;
    for (const auto& [k, v] : sc->client_metadata()) {
      std::string key(k.data(), k.size()), val(v.data(), v.size());
      if (key == "x-docker-expose-session-uuid") h.id = val;
      if (key == "x-docker-expose-session-grpc-method") h.methods.push_back(val);
    }
    class Tunnel : public session::ByteTunnel {
     public:
      explicit Tunnel(grpc::ServerReaderWriter<moby::buildkit::v1::BytesMessage,
                                               moby::buildkit::v1::BytesMessage>* s)
          : s_(s) {}
      bool Read(std::string* chunk) override {
        moby::buildkit::v1::BytesMessage m;
        if (!s_->Read(&m)) return false;
        *chunk = std::move(*m.mutable_data());
        return true;
      }
      bool Write(const std::string& chunk) override {
        moby::buildkit::v1::BytesMessage m;
        m.set_data(chunk);
        return s_->Write(m);
      }

     private:
      grpc::ServerReaderWriter<moby::buildkit::v1::BytesMessage, moby::buildkit::v1::BytesMessage>*
          s_;
    } tunnel(stream);
    kiln::Status st = m_->Serve(Context::Background(), h, tunnel);
    return st.ok() ? grpc::Status::OK
                   : grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
  }

 private:
  session::Manager* m_;
};

}  // namespace kiln::client::testing
