#pragma once
// moby.sshforward.v1.SSH as kilnctl serves it in the session for --ssh (BuildKit's
// sshprovider): CheckAgent{ID} succeeds for a configured id ("unset ssh forward key <id>"
// otherwise); ForwardAgent (metadata "buildkit.ssh.id", default "default") connects to the
// agent's unix socket and serves the daemon's agent requests through it one at a time, as
// BuildKit's read-only agent does: listing identities (11) and signing (13) are forwarded;
// adding, removing, locking and extensions are answered SSH_AGENT_FAILURE without reaching the
// agent. Private key files instead of a socket are not supported. Thread-safe.

#include <map>
#include <string>
#include <vector>

#include "client/build_options.h"
#include "client/session_handlers.h"
#include "sshforward/ssh.pb.h"

namespace kiln::client {

inline constexpr char kSSHCheckAgent[] = "/moby.sshforward.v1.SSH/CheckAgent";
inline constexpr char kSSHForwardAgent[] = "/moby.sshforward.v1.SSH/ForwardAgent";

// id -> agent socket, checked as buildctl's NewSSHAgentProvider checks --ssh: no path is
// $SSH_AUTH_SOCK ("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set" when unset);
// the path must exist; one socket per id ("only single socket allowed"); ids are unique
// ("invalid duplicate ID <id>"). Key files fail with a message saying they are not supported.
Result<std::map<std::string, std::string>> ResolveSSHAgents(
    const std::vector<SSHAgentConfig>& configs, const GetEnvFn& getenv);

class SSHService final : public SessionService {
 public:
  explicit SSHService(std::map<std::string, std::string> agents) : agents_(std::move(agents)) {}
  void Register(rpc::Handlers& handlers) override;

 private:
  Status ForwardAgent(
      ServerStream<moby::sshforward::v1::BytesMessage, moby::sshforward::v1::BytesMessage>& stream);

  const std::map<std::string, std::string> agents_;
};

}  // namespace kiln::client
