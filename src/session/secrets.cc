#include "session/secrets.h"

#include <grpcpp/grpcpp.h>

#include "secrets/secrets.grpc.pb.h"

namespace kiln::session {

namespace {

// One session's answer; SecretNotFound when it has no such secret.
Result<std::string> GetSecretFrom(const Context& ctx, Session& session, const std::string& id,
                                  std::chrono::milliseconds timeout) {
  if (!session.Supports(kSecretsGetSecretMethod)) return SecretNotFound(id);
  grpc::ClientContext cc;
  cc.set_deadline(std::chrono::system_clock::now() + timeout);
  auto cancel = ctx.OnCancel([&cc](const Status&) { cc.TryCancel(); });
  auto cancel_session = session.context().OnCancel([&cc](const Status&) { cc.TryCancel(); });
  moby::buildkit::secrets::v1::GetSecretRequest req;
  req.set_id(id);
  moby::buildkit::secrets::v1::GetSecretResponse resp;
  auto stub = moby::buildkit::secrets::v1::Secrets::NewStub(session.channel());
  grpc::Status gs = stub->GetSecret(&cc, req, &resp);
  if (ctx.cancelled()) return ctx.Err();
  switch (gs.error_code()) {
    case grpc::StatusCode::OK:
      return std::move(*resp.mutable_data());
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::UNIMPLEMENTED:
      return SecretNotFound(id);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return DeadlineExceeded("secret " + id + " from the client: no answer within " +
                              std::to_string(timeout.count()) + " ms");
    default:
      if (session.context().cancelled()) {
        return Unavailable("secret " + id + " from the client: the session closed");
      }
      return Status(static_cast<Code>(gs.error_code()),
                    "secret " + id + " from the client: " + gs.error_message());
  }
}

}  // namespace

Status SecretNotFound(const std::string& id) { return NotFound("secret " + id + ": not found"); }

Result<std::string> GetSecret(const Context& ctx, Manager& sessions,
                              const std::vector<std::string>& session_ids, const std::string& id,
                              const CallOptions& opts) {
  Status last = SecretNotFound(id);
  for (const std::string& sid : session_ids) {
    auto s = sessions.Get(ctx, sid, opts.attach_wait);
    if (ctx.cancelled()) return ctx.Err();
    if (!s.ok()) continue;  // gone or never attached: it cannot answer
    auto got = GetSecretFrom(ctx, **s, id, opts.call_timeout);
    if (ctx.cancelled()) return ctx.Err();
    if (got.ok()) return got;
    last = got.status();  // session.Any: the last session's error
  }
  return last;
}

}  // namespace kiln::session
