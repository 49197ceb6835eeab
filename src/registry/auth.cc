#include "registry/auth.h"

#include <algorithm>

#include "registry/json_fields.h"
#include "util/base64.h"

namespace kiln::registry {

namespace {

// Tokens without an expiry live 60 s (Docker's minimum); refresh a little early.
constexpr std::chrono::seconds kMinTokenLife{60};
constexpr std::chrono::seconds kExpiryMargin{5};

std::string PercentEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string BasicHeader(const Credentials& c) {
  return "Basic " + Base64Encode(c.username + ":" + c.secret);
}

}  // namespace

std::string RepositoryScope(std::string_view path, bool push) {
  return "repository:" + std::string(path) + (push ? ":pull,push" : ":pull");
}

Authorizer::Authorizer(std::shared_ptr<HttpClient> http, CredentialsFn credentials, TlsFn tls)
    : http_(std::move(http)), credentials_(std::move(credentials)), tls_(std::move(tls)) {}

std::optional<std::string> Authorizer::Cached(const std::string& host, const std::string& scope) {
  std::lock_guard<std::mutex> l(mu_);
  auto now = Clock::now();
  // A basic-auth header is per host; tokens are per (host, scope).
  for (const auto& key : {std::make_pair(host, scope), std::make_pair(host, std::string())}) {
    auto it = cache_.find(key);
    if (it == cache_.end()) continue;
    if (it->second.expires > now) return it->second.header;
    cache_.erase(it);
  }
  return std::nullopt;
}

std::optional<Credentials> Authorizer::CredentialsFor(const Endpoint& ep) {
  if (credentials_) {
    if (auto c = credentials_(ep.host); c && (!c->username.empty() || !c->secret.empty())) {
      return c;
    }
  }
  return ep.credentials;
}

Result<std::optional<Authorizer::Grant>> Authorizer::Authorize(
    const Context& ctx, const Endpoint& ep, const std::string& scope,
    const HttpResponse& unauthorized, const std::optional<std::string>& sent) {
  std::vector<Challenge> challenges;
  for (const auto& h : unauthorized.HeaderValues("www-authenticate")) {
    KILN_ASSIGN_OR_RETURN(auto cs, ParseWWWAuthenticate(h));
    challenges.insert(challenges.end(), cs.begin(), cs.end());
  }
  std::optional<std::string> newer;
  {
    std::lock_guard<std::mutex> l(mu_);
    const auto now = Clock::now();
    for (const auto& key :
         {std::make_pair(ep.host, scope), std::make_pair(ep.host, std::string())}) {
      auto it = cache_.find(key);
      if (it == cache_.end()) continue;
      if (it->second.expires > now && (!sent || it->second.header != *sent)) {
        newer = it->second.header;  // got by another request since this one was sent
        break;
      }
      cache_.erase(it);  // what was sent was not good enough, or it expired
    }
  }
  if (newer) return std::optional<Grant>(Grant{*newer, CredentialsFor(ep).has_value()});
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  std::optional<Credentials> creds = CredentialsFor(ep);
  if (bearer != nullptr) {
    KILN_ASSIGN_OR_RETURN(Entry e, FetchToken(ctx, ep, *bearer, scope, creds));
    std::lock_guard<std::mutex> l(mu_);
    cache_[{ep.host, scope}] = e;
    return std::optional<Grant>(Grant{e.header, creds.has_value()});
  }
  if (basic != nullptr && creds) {
    Entry e{BasicHeader(*creds), Clock::time_point::max()};
    std::lock_guard<std::mutex> l(mu_);
    cache_[{ep.host, std::string()}] = e;
    return std::optional<Grant>(Grant{e.header, true});
  }
  return std::optional<Grant>();
}

Result<Authorizer::Entry> Authorizer::FetchToken(const Context& ctx, const Endpoint& ep,
                                                 const Challenge& c, const std::string& scope,
                                                 const std::optional<Credentials>& creds) {
  auto realm_it = c.params.find("realm");
  if (realm_it == c.params.end() || realm_it->second.empty()) {
    return InvalidArgument(ep.host + ": bearer challenge without a realm");
  }
  const std::string& realm = realm_it->second;
  if (!realm.starts_with("https://") && !realm.starts_with("http://")) {
    return InvalidArgument(ep.host + ": token realm \"" + realm + "\" is not an http(s) URL");
  }
  std::vector<std::string> scopes;
  for (size_t start = 0; start < scope.size();) {
    size_t end = std::min(scope.find(' ', start), scope.size());
    if (end > start) scopes.push_back(scope.substr(start, end - start));
    start = end + 1;
  }
  if (auto s = c.params.find("scope");
      s != c.params.end() && !s->second.empty() &&
      std::find(scopes.begin(), scopes.end(), s->second) == scopes.end()) {
    scopes.push_back(s->second);
  }
  HttpRequest req;
  req.url = realm;
  char sep = realm.find('?') == std::string::npos ? '?' : '&';
  if (auto s = c.params.find("service"); s != c.params.end()) {
    req.url += sep + std::string("service=") + PercentEncode(s->second);
    sep = '&';
  }
  for (const auto& s : scopes) {
    req.url += sep + std::string("scope=") + PercentEncode(s);
    sep = '&';
  }
  if (creds) req.headers.emplace_back("Authorization", BasicHeader(*creds));
  req.max_body = 1 << 20;
  KILN_ASSIGN_OR_RETURN(req.tls, tls_(HostPortOf(realm)));
  std::string realm_host = HostPortOf(realm);
  Result<HttpResponse> sent = http_->Do(ctx, req);
  if (!sent.ok()) return sent.status().Annotate("fetch token from " + realm_host);
  const HttpResponse& r = *sent;
  if (r.status == 401 || r.status == 403) {
    if (creds) {
      return Status(Code::kUnauthenticated, "unauthorized: the token server " + realm_host +
                                                " rejected the credentials "
                                                "for " +
                                                ep.host + " (wrong username or password?)");
    }
    return Status(Code::kUnauthenticated, "unauthorized: the token server " + realm_host +
                                              " requires credentials for " + ep.host);
  }
  if (r.status != 200) {
    return Unavailable("token server " + realm_host + " answered " + std::to_string(r.status));
  }
  std::string where = "token from " + realm_host;
  KILN_ASSIGN_OR_RETURN(internal::Json j, internal::ParseJson(r.body, where));
  internal::Fields f(j, where, "");
  std::string token;
  KILN_RETURN_IF_ERROR(f.String("token", &token));
  if (token.empty()) KILN_RETURN_IF_ERROR(f.String("access_token", &token));
  if (token.empty()) return InvalidArgument(where + ": no token in the response");
  int64_t expires_in = 0;
  KILN_RETURN_IF_ERROR(f.Int("expires_in", &expires_in));
  auto life = std::max<std::chrono::seconds>(kMinTokenLife, std::chrono::seconds(expires_in));
  return Entry{"Bearer " + token, Clock::now() + life - kExpiryMargin};
}

}  // namespace kiln::registry
