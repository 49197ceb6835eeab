#pragma once
// The Dockerfile sent with the build request rather than synced through the session.
//
// BuildKit's Dockerfile frontend takes its Dockerfile from the frontend input named like the
// Dockerfile's local ("dockerfile") when the client sends one (buildx does so for `-f -`),
// and reads `<Dockerfile>.dockerignore` from it too. kilnctl sends every small Dockerfile that
// way: the daemon then needs no session round trip for it, nor for the context's .dockerignore,
// whose contents go in as `<Dockerfile>.dockerignore` (the frontend's own choice between the
// two is made here, by the same rule, so BuildKit's daemon builds such a request the same way).

#include <cstddef>

#include "client/build.h"
#include "util/status.h"

namespace kiln::client {

// Larger Dockerfiles (with their .dockerignore) stay in the session's "dockerfile" local.
inline constexpr size_t kInlineDockerfileMax = 256 * 1024;

// Adds the frontend input "dockerfile" to a dockerfile.v0 request whose Dockerfile is a regular
// file in the local "dockerfile": a scratch tree holding `<filename>` and
// `<filename>.dockerignore` (the Dockerfile's own, else the context's `.dockerignore`, else
// empty). Returns whether it did; a request it does not fit (another frontend, a definition,
// `dockerfilekey`, an input already named "dockerfile", a filename that is not a plain relative
// path, a file that is missing, not a regular file, unreadable or too large) is left as it is,
// for the frontend to load (and report on) through the session.
Result<bool> InlineDockerfile(BuildRequest& req);

}  // namespace kiln::client
