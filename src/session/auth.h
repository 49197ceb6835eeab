#pragma once
// Registry credentials from the client, through the session's moby.filesync.v1.Auth service
// (wire-protocol.md §4.3), as BuildKit's session/auth.CredentialsFunc asks for them: the
// daemon names the registry host it talks to ("127.0.0.1:5000", "registry-1.docker.io") and
// the client answers {Username, Secret} from its docker config; an empty answer means none
// (anonymous); an empty Username with a Secret is an identity token.
//
// The registry client takes its credentials as registry::CredentialsFn; `registry` has the same
// rank as `session`, so the adapter lives in source/registry_credentials.h. Stateless functions;
// safe from any thread.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "session/session.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::session {

inline constexpr char kAuthCredentialsMethod[] = "/moby.filesync.v1.Auth/Credentials";

struct Credentials {
  std::string username;  // "" with a secret: an identity token
  std::string secret;
  bool operator==(const Credentials&) const = default;
};

// How long to wait for each session to attach (BuildKit's session.Any: 5 s) and the deadline
// of each Credentials call (a client whose credential helper hangs must not hold the pull).
using CredentialsOptions = CallOptions;

// Asks one session. nullopt: it answered with no credentials, or it does not serve Auth
// (not advertised, or Unimplemented). Errors keep the client's code, with its message after
// "credentials for <host> from the client: " (a broken config.json, a helper not on PATH);
// DeadlineExceeded when it does not answer within `timeout`; ctx's error when cancelled.
Result<std::optional<Credentials>> GetCredentials(const Context& ctx, Session& session,
                                                  const std::string& host,
                                                  std::chrono::milliseconds timeout);

// Asks the job's sessions in order; the first non-empty answer wins. Sessions that do not
// attach in time or do not serve Auth are skipped; no such session gives nullopt. A session's
// error is returned only when no session answered (as session.Any returns its last error);
// cancelling ctx stops at once with ctx's error.
Result<std::optional<Credentials>> GetCredentials(const Context& ctx, Manager& sessions,
                                                  const std::vector<std::string>& session_ids,
                                                  const std::string& host,
                                                  const CredentialsOptions& opts = {});

}  // namespace kiln::session
