#include "client/auth_service.h"

namespace kiln::client {

namespace fs = moby::filesync::v1;

void AuthService::Register(rpc::Handlers& handlers) {
  handlers[kAuthCredentials] = UnaryHandler<fs::CredentialsRequest, fs::CredentialsResponse>(
      [this](rpc::ServerCall& call, const fs::CredentialsRequest& req,
             fs::CredentialsResponse* resp) { return Credentials(call, req, resp); });
  auto unimplemented = [](std::string what) {
    return [what](rpc::ServerCall&) {
      return session::ToWireStatus(Unimplemented("kilnctl does not " + what));
    };
  };
  handlers["/moby.filesync.v1.Auth/FetchToken"] = unimplemented("fetch registry tokens");
  handlers["/moby.filesync.v1.Auth/GetTokenAuthority"] = unimplemented("sign registry tokens");
  handlers["/moby.filesync.v1.Auth/VerifyTokenAuthority"] = unimplemented("sign registry tokens");
}

Status AuthService::Credentials(const rpc::ServerCall& call, const fs::CredentialsRequest& req,
                                fs::CredentialsResponse* resp) {
  // The call's context ends with the daemon's deadline or its cancellation, which bounds a
  // credential helper that hangs.
  Context ctx = call.context();
  auto stop = ctx_.OnCancel([ctx](const Status& cause) { ctx.Cancel(cause); });
  Result<RegistryCredentials> creds = provider_->Credentials(ctx, req.host());
  if (!creds.ok()) return creds.status();
  resp->set_username(creds->username);
  resp->set_secret(creds->secret);
  return Status::Ok();
}

}  // namespace kiln::client
