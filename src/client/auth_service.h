#pragma once
// moby.filesync.v1.Auth as kilnctl serves it in the session (wire-protocol.md §4.3): the daemon
// asks Credentials{Host} before it answers a registry's 401, and gets {Username, Secret} from
// docker's config (docker_auth.h); empty when there are none. The token-signing calls
// (GetTokenAuthority, VerifyTokenAuthority) and FetchToken are Unimplemented: a BuildKit daemon
// then asks Credentials and fetches the token itself (see docs/dev/registry-auth.md). Only
// Credentials is advertised in the session headers. Thread-safe.

#include <memory>

#include "client/docker_auth.h"
#include "filesync/auth.grpc.pb.h"
#include "util/context.h"

namespace kiln::client {

inline constexpr char kAuthCredentials[] = "/moby.filesync.v1.Auth/Credentials";

class AuthService final : public moby::filesync::v1::Auth::Service {
 public:
  // `ctx` is cancelled when the session ends (a running credential helper is then killed).
  AuthService(std::unique_ptr<DockerAuthProvider> provider, Context ctx)
      : provider_(std::move(provider)), ctx_(std::move(ctx)) {}

  grpc::Status Credentials(grpc::ServerContext* context,
                           const moby::filesync::v1::CredentialsRequest* req,
                           moby::filesync::v1::CredentialsResponse* resp) override;
  grpc::Status FetchToken(grpc::ServerContext* context,
                          const moby::filesync::v1::FetchTokenRequest* req,
                          moby::filesync::v1::FetchTokenResponse* resp) override;
  grpc::Status GetTokenAuthority(grpc::ServerContext* context,
                                 const moby::filesync::v1::GetTokenAuthorityRequest* req,
                                 moby::filesync::v1::GetTokenAuthorityResponse* resp) override;
  grpc::Status VerifyTokenAuthority(
      grpc::ServerContext* context, const moby::filesync::v1::VerifyTokenAuthorityRequest* req,
      moby::filesync::v1::VerifyTokenAuthorityResponse* resp) override;

 private:
  const std::unique_ptr<DockerAuthProvider> provider_;
  const Context ctx_;
};

}  // namespace kiln::client
