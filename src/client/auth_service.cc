#include "client/auth_service.h"

#include <chrono>

#include "session/grpc_status.h"

namespace kiln::client {

namespace fs = moby::filesync::v1;

grpc::Status AuthService::Credentials(grpc::ServerContext* context,
                                      const fs::CredentialsRequest* req,
                                      fs::CredentialsResponse* resp) {
  // The daemon's deadline bounds a credential helper that hangs (the sync API gives no
  // callback when the daemon cancels the call).
  Context ctx = ctx_.Child();
  if (auto d = context->deadline(); d != std::chrono::system_clock::time_point::max()) {
    ctx = ctx.WithTimeout(
        std::chrono::duration_cast<Context::Clock::duration>(d - std::chrono::system_clock::now()));
  }
  Result<RegistryCredentials> creds = provider_->Credentials(ctx, req->host());
  if (!creds.ok()) return session::ToGrpcStatus(creds.status());
  resp->set_username(creds->username);
  resp->set_secret(creds->secret);
  return grpc::Status::OK;
}

grpc::Status AuthService::FetchToken(grpc::ServerContext*, const fs::FetchTokenRequest*,
                                     fs::FetchTokenResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "kilnctl does not fetch registry tokens");
}

grpc::Status AuthService::GetTokenAuthority(grpc::ServerContext*,
                                            const fs::GetTokenAuthorityRequest*,
                                            fs::GetTokenAuthorityResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "kilnctl does not sign registry tokens");
}

grpc::Status AuthService::VerifyTokenAuthority(grpc::ServerContext*,
                                               const fs::VerifyTokenAuthorityRequest*,
                                               fs::VerifyTokenAuthorityResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "kilnctl does not sign registry tokens");
}

}  // namespace kiln::client
