#pragma once
// moby.filesync.v1.Auth as kilnctl serves it in the session (wire-protocol.md §4.3): the daemon
// asks Credentials{Host} before it answers a registry's 401, and gets {Username, Secret} from
// docker's config (docker_auth.h); empty when there are none. The token-signing calls
// (GetTokenAuthority, VerifyTokenAuthority) and FetchToken are Unimplemented: a BuildKit daemon
// then asks Credentials and fetches the token itself (see docs/dev/registry-auth.md). Only
// Credentials is advertised in the session headers. Thread-safe.

#include <memory>

#include "client/docker_auth.h"
#include "client/session_handlers.h"
#include "filesync/auth.pb.h"
#include "util/context.h"

namespace kiln::client {

inline constexpr char kAuthCredentials[] = "/moby.filesync.v1.Auth/Credentials";

class AuthService final : public SessionService {
 public:
  // `ctx` is cancelled when the session ends (a running credential helper is then killed).
  AuthService(std::unique_ptr<DockerAuthProvider> provider, Context ctx)
      : provider_(std::move(provider)), ctx_(std::move(ctx)) {}

  void Register(rpc::Handlers& handlers) override;
  Status Credentials(const rpc::ServerCall& call, const moby::filesync::v1::CredentialsRequest& req,
                     moby::filesync::v1::CredentialsResponse* resp);

 private:
  const std::unique_ptr<DockerAuthProvider> provider_;
  const Context ctx_;
};

}  // namespace kiln::client
