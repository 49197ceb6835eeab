#pragma once
// docker credential helpers (the docker-credential-helpers protocol, `get` only): runs
// `docker-credential-<name> get` found on PATH, writes the server URL to its stdin and reads
// {"ServerURL": ..., "Username": ..., "Secret": ...} from its stdout. A helper that exits non-zero
// saying "credentials not found in native keychain" has no credentials (not an error); any other
// failure is, with the helper's own words. Username "<token>" means Secret is an identity token.
// Stateless; safe to call from several threads (each call runs its own process).

#include <optional>
#include <string>

#include "util/context.h"
#include "util/status.h"

namespace kiln::client {

struct HelperCredentials {
  std::string username;  // "" when secret is an identity token
  std::string secret;
  bool operator==(const HelperCredentials&) const = default;
};

// nullopt: the helper has no credentials for `server_url`. Errors: NotFound when the helper is
// not on PATH (naming it), Unknown when it fails, InvalidArgument for output that is not its
// JSON, ctx's error when cancelled (the helper is killed).
Result<std::optional<HelperCredentials>> GetFromCredentialHelper(const Context& ctx,
                                                                 const std::string& helper,
                                                                 const std::string& server_url);

}  // namespace kiln::client
