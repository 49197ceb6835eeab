#pragma once
// Secrets from the client, through the session's moby.buildkit.secrets.v1.Secrets service
// (wire-protocol.md §4.3), as BuildKit's session/secrets.GetSecret asks for them over
// session.Any: the daemon names the secret's id and the client answers its bytes (kilnctl's
// --secret). Values are returned to the caller only: never logged, never put in an error.
// Stateless functions; safe from any thread.

#include <string>
#include <vector>

#include "session/session.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::session {

inline constexpr char kSecretsGetSecretMethod[] = "/moby.buildkit.secrets.v1.Secrets/GetSecret";

// NotFound "secret <id>: not found" (BuildKit's message) when no session has the secret: it
// answered NotFound or Unimplemented, or does not advertise Secrets.
Status SecretNotFound(const std::string& id);

// The secret `id` from the job's sessions, asked in order; the first answer wins. A session
// that fails otherwise is skipped; its error is returned when no session answered (as
// session.Any returns its last error), and NotFound (SecretNotFound) when none had it.
// Cancelling ctx stops at once with ctx's error.
Result<std::string> GetSecret(const Context& ctx, Manager& sessions,
                              const std::vector<std::string>& session_ids, const std::string& id,
                              const CallOptions& opts = {});

}  // namespace kiln::session
