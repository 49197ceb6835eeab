#pragma once
// Registry answers as errors a user can act on, naming the image (docs/dev/errors.md):
//   404 -> NotFound          "docker.io/library/foo:bar: not found"
//   401 -> Unauthenticated   "pull access denied for docker.io/library/foo, repository does not
//                             exist or may require authorization: <registry's message>"
//                             ("push access denied ..." for pushes)
//   403 -> PermissionDenied  "...: access denied by <host> (403 Forbidden): <message>"
//   429 -> ResourceExhausted "...: <host> is rate limiting (429 Too Many Requests): <message>"
//   5xx -> Unavailable       "...: <host> answered 503 Service Unavailable (4 attempts)"
// The registry's message comes from its {"errors":[{"code","message"}]} body when present.
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "registry/http.h"
#include "util/status.h"

namespace kiln::registry {

// "denied: requested access to the resource is denied" from a registry error body, or "".
std::string RegistryErrorMessage(std::string_view body);

// The error for a non-2xx answer. `image` names the reference ("docker.io/library/foo:bar"),
// `name` the repository ("docker.io/library/foo"), `what` the object when it is not the
// manifest ("blob sha256:..."; empty for manifests), `host` the registry that answered,
// `action` what was refused on 401 ("pull" or "push").
Status ResponseError(const HttpResponse& r, std::string_view image, std::string_view name,
                     std::string_view what, std::string_view host, int attempts,
                     std::string_view action = "pull");

// Whether an HTTP status is worth another attempt: 429 and 5xx (but 501 and 505).
bool RetryableStatus(int status);

}  // namespace kiln::registry
