#pragma once
// Registry authentication (the Docker token flow, as containerd's docker authorizer does it).
// A request goes out anonymously, or with what is cached for its host and scope. On 401 the
// WWW-Authenticate challenge decides:
//   Basic  -> "Authorization: Basic" with the host's credentials (none: cannot authorize);
//   Bearer -> GET <realm>?service=<service>&scope=<scope>[&scope=...] (one scope parameter per
//             space-separated scope of the request, e.g. push to one repository and pull from
//             another for a cross-repository mount; with the credentials as basic auth
//             when there are any, anonymously otherwise), reading "token" or "access_token"
//             and "expires_in" from the JSON; tokens are cached per (host, scope) until they
//             expire.
// Credentials are asked for lazily, per host, from the CredentialsFn (the client's session and
// the daemon's config), falling back to those in the Endpoint. Thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/hosts.h"
#include "registry/http.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::registry {

struct Challenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // keys lower case: "realm", "service", "scope"
  bool operator==(const Challenge&) const = default;
};

// Parses WWW-Authenticate header values (RFC 7235): one or more challenges, each a scheme and
// comma-separated params whose values are tokens or quoted strings with backslash escapes.
Result<std::vector<Challenge>> ParseWWWAuthenticate(std::string_view header);

// Looks up credentials for a registry host as contacted ("localhost:5000", a mirror's host;
// Docker Hub is "registry-1.docker.io", which docker's config.json knows as
// "https://index.docker.io/v1/", a mapping the caller does as BuildKit's authprovider does).
// nullopt: none (anonymous).
using CredentialsFn = std::function<std::optional<Credentials>(const std::string& host)>;

// "repository:<path>:pull" or "repository:<path>:pull,push". Scopes given to the Authorizer
// may be several of these joined by spaces.
std::string RepositoryScope(std::string_view path, bool push);

class Authorizer {
 public:
  using Clock = std::chrono::steady_clock;
  // TLS settings for a host the token realm lives on ("auth.docker.io:443").
  using TlsFn = std::function<Result<TlsConfig>(const std::string& host_port)>;

  Authorizer(std::shared_ptr<HttpClient> http, CredentialsFn credentials, TlsFn tls);

  // The Authorization header value known for (host, scope), if any.
  std::optional<std::string> Cached(const std::string& host, const std::string& scope);

  struct Grant {
    std::string header;             // the Authorization header value to retry with
    bool with_credentials = false;  // credentials were used to get it
  };
  // Answers a 401 from `ep` for `scope` to a request that carried `sent` (its Authorization
  // header, nullopt: none). What was sent is forgotten; a header cached since by another
  // request (parallel requests all meet the first 401) is answered at once, without a new
  // token. nullopt: the challenge cannot be answered (Basic without credentials, an unknown
  // scheme). Errors: Unauthenticated when the token server rejects the credentials,
  // Unavailable when it cannot be reached, InvalidArgument for a bad challenge or token
  // response.
  Result<std::optional<Grant>> Authorize(const Context& ctx, const Endpoint& ep,
                                         const std::string& scope, const HttpResponse& unauthorized,
                                         const std::optional<std::string>& sent);

 private:
  struct Entry {
    std::string header;
    Clock::time_point expires;
  };
  std::optional<Credentials> CredentialsFor(const Endpoint& ep);
  Result<Entry> FetchToken(const Context& ctx, const Endpoint& ep, const Challenge& c,
                           const std::string& scope, const std::optional<Credentials>& creds);

  std::shared_ptr<HttpClient> http_;
  CredentialsFn credentials_;
  TlsFn tls_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> cache_;  // (host, scope); guarded by mu_
};

}  // namespace kiln::registry
