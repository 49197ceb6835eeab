#include "session/auth.h"

#include <grpcpp/grpcpp.h>

#include "filesync/auth.grpc.pb.h"

namespace kiln::session {

Result<std::optional<Credentials>> GetCredentials(const Context& ctx, Session& session,
                                                  const std::string& host,
                                                  std::chrono::milliseconds timeout) {
  if (!session.Supports(kAuthCredentialsMethod)) return std::optional<Credentials>();
  if (ctx.cancelled()) return ctx.Err();
  grpc::ClientContext cc;
  cc.set_deadline(std::chrono::system_clock::now() + timeout);
  auto cancel = ctx.OnCancel([&cc](const Status&) { cc.TryCancel(); });
  auto cancel_session = session.context().OnCancel([&cc](const Status&) { cc.TryCancel(); });
  moby::filesync::v1::CredentialsRequest req;
  req.set_host(host);
  moby::filesync::v1::CredentialsResponse resp;
  auto stub = moby::filesync::v1::Auth::NewStub(session.channel());
  grpc::Status gs = stub->Credentials(&cc, req, &resp);
  if (ctx.cancelled()) return ctx.Err();
  const std::string what = "credentials for " + host + " from the client";
  switch (gs.error_code()) {
    case grpc::StatusCode::OK:
      break;
    case grpc::StatusCode::UNIMPLEMENTED:  // BuildKit: a client without Auth has no credentials
      return std::optional<Credentials>();
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return DeadlineExceeded(what + ": no answer within " + std::to_string(timeout.count()) +
                              " ms");
    default:
      if (session.context().cancelled()) return Unavailable(what + ": the session closed");
      return Status(static_cast<Code>(gs.error_code()), what + ": " + gs.error_message());
  }
  if (resp.username().empty() && resp.secret().empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(Credentials{resp.username(), resp.secret()});
}

Result<std::optional<Credentials>> GetCredentials(const Context& ctx, Manager& sessions,
                                                  const std::vector<std::string>& session_ids,
                                                  const std::string& host,
                                                  const CredentialsOptions& opts) {
  bool answered = false;
  Status first_error;
  for (const std::string& id : session_ids) {
    auto s = sessions.Get(ctx, id, opts.attach_wait);
    if (ctx.cancelled()) return ctx.Err();
    // Gone, never attached, or without Auth: it cannot answer.
    if (!s.ok() || !(*s)->Supports(kAuthCredentialsMethod)) continue;
    auto got = GetCredentials(ctx, **s, host, opts.call_timeout);
    if (ctx.cancelled()) return ctx.Err();
    if (!got.ok()) {
      if (first_error.ok()) first_error = got.status();
      continue;
    }
    answered = true;
    if (got->has_value()) return got;
  }
  if (!answered && !first_error.ok()) return first_error;
  return std::optional<Credentials>();
}

}  // namespace kiln::session
