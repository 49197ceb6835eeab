// Client::PushBlob: one blob from the content store into a repository. HEAD; else a
// cross-repository mount (POST ?mount=&from=); else POST an upload session and send the blob in
// one PUT ?digest=, or in PATCH chunks (Content-Range, following each answer's Location) and a
// closing PUT. An upload that fails in a way a retry may fix starts over from the POST.
#include <algorithm>
#include <charconv>

#include "registry/client.h"
#include "registry/errors.h"

namespace kiln::registry {

namespace {

constexpr int64_t kProgressStep = 1 << 20;  // report progress at most once per MiB sent

// "scheme://host[:port]" of an absolute URL, or "".
std::string_view Origin(std::string_view url) {
  size_t p = url.find("://");
  if (p == std::string_view::npos) return {};
  return url.substr(0, url.find_first_of("/?#", p + 3));
}

// An upload Location (an absolute URL, an absolute path, or a path relative to the request) as
// an absolute URL.
std::string ResolveLocation(std::string_view request_url, std::string_view loc) {
  if (loc.starts_with("http://") || loc.starts_with("https://")) return std::string(loc);
  if (loc.starts_with("/")) return std::string(Origin(request_url)) + std::string(loc);
  std::string_view base = request_url.substr(0, request_url.find_first_of("?#"));
  return std::string(base.substr(0, base.rfind('/') + 1)) + std::string(loc);
}

// `url` with one more query parameter (the Location may carry a query already).
std::string WithQuery(std::string url, std::string_view param) {
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += param;
  return url;
}

// The last byte a Range answer ("0-1023", "bytes=0-1023") says the registry holds, if it
// parses.
std::optional<int64_t> RangeEnd(std::string_view range) {
  if (range.starts_with("bytes=")) range.remove_prefix(6);
  if (!range.starts_with("0-")) return std::nullopt;
  range.remove_prefix(2);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(range.data(), range.data() + range.size(), v);
  if (ec != std::errc() || p != range.data() + range.size()) return std::nullopt;
  return v;
}

bool Success(int status) { return status >= 200 && status < 300; }

}  // namespace

Endpoint Client::EndpointForURL(const Endpoint& ep, const std::string& url) const {
  if (HostPortOf(url) == HostPortOf(ep.BaseURL())) return ep;
  // Uploads sent to storage elsewhere: no registry credentials there, its own TLS settings.
  std::string_view origin = Origin(url);
  size_t p = origin.find("://");
  Endpoint other;
  other.scheme = std::string(origin.substr(0, p));
  other.host = std::string(origin.substr(p + 3));
  HostConfig c = opts_.hosts.Config(other.host);
  other.insecure = c.insecure;
  other.ca = c.ca;
  return other;
}

Result<bool> Client::Exists(const Context& ctx, const Endpoint& ep, const Reference& ref,
                            const std::string& scope, const std::string& path,
                            const std::string& what, const Digest& want) {
  const std::string image = ref.String();
  HttpRequest req;
  req.method = "HEAD";
  req.url = ep.BaseURL() + "/" + ref.path + "/" + path;
  if (path.starts_with("manifests/")) {
    req.headers.emplace_back("Accept", std::string(media_types::kManifestAccept));
  }
  Result<Sent> sent = Send(ctx, ep, scope, req, nullptr);
  if (!sent.ok()) return sent.status().Annotate(image + ": " + what);
  const HttpResponse& r = sent->response;
  if (r.status == 404) return false;
  if (r.status != 200) {
    return ResponseError(r, image, ref.Name(), what, ep.host, sent->attempts, "push");
  }
  return want.empty() || r.Header("docker-content-digest") == want.str();
}

Result<Client::UploadStart> Client::StartUpload(const Context& ctx, const Endpoint& ep,
                                                const Reference& ref, const std::string& scope,
                                                const Descriptor& desc,
                                                const std::string& mount_from) {
  const std::string image = ref.String();
  const std::string what = "blob " + desc.digest.str();
  const std::string url = ep.BaseURL() + "/" + ref.path + "/blobs/uploads/";
  HttpRequest req;
  req.method = "POST";
  if (!mount_from.empty()) {
    req.url = url + "?mount=" + desc.digest.str() + "&from=" + mount_from;
    Result<Sent> sent = Send(ctx, ep, scope, req, nullptr);
    if (!sent.ok()) return sent.status().Annotate(image + ": " + what);
    const HttpResponse& r = sent->response;
    if (r.status == 201) return UploadStart{true, ""};
    if (r.status == 202 && !r.Header("location").empty()) {
      return UploadStart{false, ResolveLocation(req.url, r.Header("location"))};
    }
    // The registry will not mount (no access to the source, mounts unsupported): upload.
  }
  req.url = url;
  Result<Sent> sent = Send(ctx, ep, scope, req, nullptr);
  if (!sent.ok()) return sent.status().Annotate(image + ": " + what);
  const HttpResponse& r = sent->response;
  if (!Success(r.status)) {
    return ResponseError(r, image, ref.Name(), what, ep.host, sent->attempts, "push");
  }
  if (r.Header("location").empty()) {
    return Status(Code::kUnknown,
                  image + ": " + what + ": " + ep.host + " started an upload without a Location");
  }
  return UploadStart{false, ResolveLocation(url, r.Header("location"))};
}

Status Client::Upload(const Context& ctx, const Endpoint& ep, const Reference& ref,
                      const std::string& scope, const Descriptor& desc, const content::Reader& blob,
                      std::string location, const PushBlobOptions& opts, bool* restart) {
  *restart = false;
  const std::string image = ref.String();
  const std::string what = "blob " + desc.digest.str();
  const int64_t size = blob.size();
  int64_t reported = 0;
  auto report = [&](int64_t offset, bool force) {
    if (!opts.progress || (!force && offset - reported < kProgressStep)) return;
    reported = offset;
    opts.progress(PushProgress{desc.digest, desc.media_type, offset, size, false, {}});
  };
  report(0, true);
  // Sends bytes [start, end) of the blob to `url`, streamed from the store; a request sent
  // again after a 401 rewinds to `start`.
  auto send = [&](const std::string& method, const std::string& url, int64_t start, int64_t end,
                  const std::string& content_range) -> Result<Sent> {
    int64_t pos = start;
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    if (!content_range.empty()) req.headers.emplace_back("Content-Range", content_range);
    req.body_size = end - start;
    req.body_reader = [&](char* buf, size_t n) -> Result<size_t> {
      size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), end - pos));
      if (want == 0) return size_t{0};
      KILN_ASSIGN_OR_RETURN(size_t got, blob.ReadAt(pos, buf, want));
      if (got == 0) return DataLoss(what + " is shorter in the content store than its size");
      pos += static_cast<int64_t>(got);
      report(pos, pos == end);
      return got;
    };
    auto rewind = [&] {
      pos = start;
      report(start, true);
      return Status::Ok();
    };
    return Send(ctx, EndpointForURL(ep, url), scope, std::move(req), rewind,
                /*retry_failures=*/false);
  };
  // A failed request: transport failures and retryable answers may pass on a new upload.
  auto failed = [&](const Result<Sent>& sent, const std::string& url) -> Status {
    if (!sent.ok()) {
      *restart = sent.status().code() == Code::kUnavailable;
      return sent.status().Annotate(image + ": " + what);
    }
    *restart = RetryableStatus(sent->response.status);
    return ResponseError(sent->response, image, ref.Name(), what, EndpointForURL(ep, url).host,
                         sent->attempts, "push");
  };

  int64_t offset = 0;
  const int64_t chunk = opts.chunk_size;
  if (chunk > 0 && size > chunk) {
    while (offset < size) {
      int64_t end = std::min(size, offset + chunk);
      std::string range = std::to_string(offset) + "-" + std::to_string(end - 1);
      Result<Sent> sent = send("PATCH", location, offset, end, range);
      if (!sent.ok() || !Success(sent->response.status)) return failed(sent, location);
      const HttpResponse& r = sent->response;
      std::optional<int64_t> got = RangeEnd(r.Header("range"));
      if (got && *got != end - 1) {
        *restart = true;
        return Unavailable(image + ": " + what + ": the registry holds bytes 0-" +
                           std::to_string(*got) + " after a chunk ending at " +
                           std::to_string(end - 1));
      }
      if (!r.Header("location").empty()) location = ResolveLocation(location, r.Header("location"));
      offset = end;
    }
  }
  std::string put_url = WithQuery(location, "digest=" + desc.digest.str());
  Result<Sent> sent = send("PUT", put_url, offset, size, "");
  if (!sent.ok() || !Success(sent->response.status)) return failed(sent, put_url);
  std::string stored = sent->response.Header("docker-content-digest");
  if (!stored.empty() && stored != desc.digest.str()) {
    return DataLoss(image + ": " + what + ": " + EndpointForURL(ep, put_url).host +
                    " stored it as " + stored);
  }
  return Status::Ok();
}

Status Client::PushBlob(const Context& ctx, const Reference& ref, const Descriptor& desc,
                        content::Store& store, const PushBlobOptions& opts) {
  const std::string image = ref.String();
  const std::string what = "blob " + desc.digest.str();
  const Endpoint ep = opts_.hosts.PushEndpoints(ref.domain).front();
  const bool mount = !opts.mount_from.empty() && opts.mount_from != ref.path;
  // A mount needs pull access to the source too, in the same token.
  std::string scope = RepositoryScope(ref.path, true);
  if (mount) scope += " " + RepositoryScope(opts.mount_from, false);
  auto done = [&](BlobOutcome how) {
    if (opts.progress) {
      opts.progress(PushProgress{desc.digest, desc.media_type, desc.size, desc.size, true, how});
    }
    return Status::Ok();
  };

  KILN_ASSIGN_OR_RETURN(bool exists,
                        Exists(ctx, ep, ref, scope, "blobs/" + desc.digest.str(), what, {}));
  if (exists) return done(BlobOutcome::kExisted);
  Result<content::Reader> blob = store.OpenBlob(desc.digest);
  if (!blob.ok()) {
    if (blob.status().code() == Code::kNotFound) {
      return NotFound(image + ": " + what + ": not in the content store");
    }
    return blob.status().Annotate(image + ": " + what);
  }
  if (blob->size() != desc.size) {
    return FailedPrecondition(image + ": " + what + ": the content store has " +
                              std::to_string(blob->size()) + " bytes, the descriptor says " +
                              std::to_string(desc.size));
  }
  auto backoff = opts_.initial_backoff;
  for (int attempt = 1;; attempt++) {
    // Mount once: a registry that answered with an upload session will not mount it later.
    KILN_ASSIGN_OR_RETURN(UploadStart start,
                          StartUpload(ctx, ep, ref, scope, desc,
                                      mount && attempt == 1 ? opts.mount_from : std::string()));
    if (start.mounted) return done(BlobOutcome::kMounted);
    bool restart = false;
    Status s = Upload(ctx, ep, ref, scope, desc, *blob, start.location, opts, &restart);
    if (s.ok()) return done(BlobOutcome::kUploaded);
    if (!restart || ctx.cancelled()) return s;
    if (attempt >= opts_.max_attempts) {
      return Status(s.code(), s.message() + " (" + std::to_string(attempt) + " attempts)");
    }
    KILN_RETURN_IF_ERROR(ctx.Sleep(backoff));
    backoff = std::min(backoff * 2, opts_.max_backoff);
  }
}

}  // namespace kiln::registry
