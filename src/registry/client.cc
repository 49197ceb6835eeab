#include "registry/client.h"

#include <algorithm>
#include <charconv>

#include "registry/errors.h"

namespace kiln::registry {

namespace {

std::string_view StripParams(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return content_type;
}

std::optional<int64_t> ParseSize(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

Client::Client(ClientOptions opts) : opts_(std::move(opts)) {
  http_ = opts_.http ? opts_.http : NewCurlHttpClient();
  auth_ = std::make_unique<Authorizer>(http_, opts_.credentials,
                                       [this](const std::string& hp) { return TlsForHost(hp); });
}

Client::~Client() = default;

Result<TlsConfig> Client::TlsFor(bool insecure, const std::vector<std::string>& ca) {
  if (ca.empty() || insecure) return TlsConfig{insecure, nullptr};
  std::string key;
  for (const auto& f : ca) key += f + "\n";
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = tls_.find(key); it != tls_.end()) return it->second;
  KILN_ASSIGN_OR_RETURN(auto pem, LoadCaBundle(ca));
  TlsConfig t{false, std::move(pem)};
  tls_[key] = t;
  return t;
}

Result<TlsConfig> Client::TlsForHost(const std::string& host_port) {
  HostConfig c = opts_.hosts.Config(host_port);
  if (!c.insecure && c.ca.empty()) {
    // Configs are usually keyed without the default port.
    if (size_t colon = host_port.rfind(':'); colon != std::string::npos) {
      std::string_view port = std::string_view(host_port).substr(colon + 1);
      if (port == "443" || port == "80") c = opts_.hosts.Config(host_port.substr(0, colon));
    }
  }
  return TlsFor(c.insecure, c.ca);
}

Result<Client::Sent> Client::Send(const Context& ctx, const Endpoint& ep, const std::string& scope,
                                  HttpRequest req, const std::function<Status()>& on_retry,
                                  bool retry_failures) {
  KILN_ASSIGN_OR_RETURN(req.tls, TlsFor(ep.insecure, ep.ca));
  const auto base_headers = req.headers;
  bool authorized = false;
  bool basic = false;
  auto backoff = opts_.initial_backoff;
  for (int attempt = 1;;) {
    req.headers = base_headers;
    std::optional<std::string> auth = auth_->Cached(ep.host, scope);
    if (auth) req.headers.emplace_back("Authorization", *auth);
    Result<HttpResponse> r = http_->Do(ctx, req);
    Status failure;
    if (!r.ok()) {
      if (r.status().code() != Code::kUnavailable) return r.status();
      failure = r.status();
    } else if (r->status == 401 && !authorized) {
      authorized = true;
      KILN_ASSIGN_OR_RETURN(std::optional<Authorizer::Grant> g,
                            auth_->Authorize(ctx, ep, scope, *r, auth));
      if (!g) return Sent{std::move(*r), attempt};
      basic = g->with_credentials && g->header.starts_with("Basic ");
      if (on_retry) KILN_RETURN_IF_ERROR(on_retry());
      continue;  // not a failed attempt
    } else if (r->status == 401 && basic) {
      return Status(Code::kUnauthenticated, "unauthorized: " + ep.host +
                                                " rejected the credentials (wrong username or "
                                                "password?)");
    } else if (!RetryableStatus(r->status) || attempt >= opts_.max_attempts || !retry_failures) {
      return Sent{std::move(*r), attempt};
    }
    if (!retry_failures) return failure;
    if (attempt >= opts_.max_attempts) {
      return Status(failure.code(),
                    failure.message() + " (" + std::to_string(attempt) + " attempts)");
    }
    KILN_RETURN_IF_ERROR(ctx.Sleep(backoff));
    backoff = std::min(backoff * 2, opts_.max_backoff);
    if (on_retry) KILN_RETURN_IF_ERROR(on_retry());
    attempt++;
  }
}

Result<Resolved> Client::ResolveAt(const Context& ctx, const Endpoint& ep, const Reference& ref) {
  const std::string image = ref.String();
  const std::string scope = RepositoryScope(ref.path, false);
  HttpRequest req;
  req.method = "HEAD";
  req.url = ep.BaseURL() + "/" + ref.path + "/manifests/" + ref.TagOrDigest();
  req.headers.emplace_back("Accept", std::string(media_types::kManifestAccept));
  Result<Sent> sent = Send(ctx, ep, scope, req, nullptr);
  if (!sent.ok()) return sent.status().Annotate(image);
  const HttpResponse* r = &sent->response;
  Resolved out{ref, {}};
  if (r->status == 200) {
    out.descriptor.media_type = std::string(StripParams(r->Header("content-type")));
    auto size = ParseSize(r->Header("content-length"));
    auto dg = Digest::Parse(r->Header("docker-content-digest"));
    out.descriptor.digest = !ref.digest.empty() ? ref.digest : dg.ok() ? *dg : Digest();
    bool typed =
        IsIndexType(out.descriptor.media_type) || IsManifestType(out.descriptor.media_type);
    if (typed && size && !out.descriptor.digest.empty()) {
      out.descriptor.size = *size;
      return out;
    }
  } else if (r->status == 404 || r->status == 429 || r->status >= 500) {
    return ResponseError(*r, image, ref.Name(), "", ep.host, sent->attempts);
  }
  // No usable answer to HEAD (HEAD unsupported, no digest, or an error whose explanation is in
  // the body HEAD does not carry): GET the manifest and describe what came back.
  req.method = "GET";
  req.max_body = opts_.max_manifest_bytes;
  sent = Send(ctx, ep, scope, req, nullptr);
  if (!sent.ok()) return sent.status().Annotate(image);
  r = &sent->response;
  if (r->status != 200) return ResponseError(*r, image, ref.Name(), "", ep.host, sent->attempts);
  Digest actual = Digest::FromBytes(r->body);
  if (!ref.digest.empty() && actual != ref.digest) {
    return DataLoss(image + ": digest mismatch for " + ref.digest.str() + ": got " + actual.str());
  }
  KILN_ASSIGN_OR_RETURN(out.descriptor.media_type,
                        DetectManifestType(r->body, r->Header("content-type"), image));
  out.descriptor.digest = actual;
  out.descriptor.size = static_cast<int64_t>(r->body.size());
  return out;
}

Result<Resolved> Client::Resolve(const Context& ctx, const Reference& ref) {
  Status last;
  for (const Endpoint& ep : opts_.hosts.PullEndpoints(ref.domain)) {
    Result<Resolved> r = ResolveAt(ctx, ep, ref);
    if (r.ok() || !ep.mirror || ctx.cancelled()) return r;
    last = r.status();  // a mirror failed: fall back to the next endpoint
  }
  return last;
}

Result<std::string> Client::FetchManifest(const Context& ctx, const Reference& ref,
                                          const Descriptor& desc) {
  const std::string image = ref.String();
  const std::string scope = RepositoryScope(ref.path, false);
  Status last;
  for (const Endpoint& ep : opts_.hosts.PullEndpoints(ref.domain)) {
    HttpRequest req;
    req.url = ep.BaseURL() + "/" + ref.path + "/manifests/" + desc.digest.str();
    std::string accept(media_types::kManifestAccept);
    if (!desc.media_type.empty()) accept = desc.media_type + ", " + accept;
    req.headers.emplace_back("Accept", accept);
    req.max_body = opts_.max_manifest_bytes;
    Result<Sent> sent = Send(ctx, ep, scope, req, nullptr);
    Status err;
    if (!sent.ok()) {
      err = sent.status().Annotate(image);
    } else if (sent->response.status != 200) {
      err = ResponseError(sent->response, image, ref.Name(), "manifest " + desc.digest.str(),
                          ep.host, sent->attempts);
    } else {
      Digest actual = Digest::FromBytes(sent->response.body);
      if (actual != desc.digest) {
        return DataLoss(image + ": digest mismatch for " + desc.digest.str() + ": got " +
                        actual.str());
      }
      return std::move(sent->response.body);
    }
    if (!ep.mirror || ctx.cancelled()) return err;
    last = err;
  }
  return last;
}

Status Client::FetchBlobInto(const Context& ctx, const Reference& ref, const Descriptor& desc,
                             content::Writer& w) {
  const std::string image = ref.String();
  const std::string scope = RepositoryScope(ref.path, false);
  const std::string what = "blob " + desc.digest.str();
  Status last;
  for (const Endpoint& ep : opts_.hosts.PullEndpoints(ref.domain)) {
    if (w.written() > 0) KILN_RETURN_IF_ERROR(w.Truncate());
    HttpRequest req;
    req.url = ep.BaseURL() + "/" + ref.path + "/blobs/" + desc.digest.str();
    req.on_body = [&w](std::string_view chunk) { return w.Write(chunk); };
    Result<Sent> sent = Send(ctx, ep, scope, req, [&w] { return w.Truncate(); });
    Status err;
    if (!sent.ok()) {
      err = sent.status().Annotate(image + ": " + what);
    } else if (sent->response.status != 200) {
      err = ResponseError(sent->response, image, ref.Name(), what, ep.host, sent->attempts);
    } else {
      return Status::Ok();
    }
    if (!ep.mirror || ctx.cancelled()) return err;
    last = err;
  }
  return last;
}

Result<content::Info> Client::FetchBlob(const Context& ctx, const Reference& ref,
                                        const Descriptor& desc, content::Store& store,
                                        content::Lease* lease) {
  auto fetch = [&](const Context& c, content::Writer& w) { return FetchBlobInto(c, ref, desc, w); };
  Result<content::Info> r = store.Ensure(ctx, desc.digest, desc.size, fetch, lease);
  // Verification failures come from the store's commit: say which image they belong to.
  if (!r.ok() && r.status().code() == Code::kDataLoss &&
      !r.status().message().starts_with(ref.String())) {
    return r.status().Annotate(ref.String());
  }
  return r;
}

}  // namespace kiln::registry
