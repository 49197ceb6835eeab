#include "registry/http.h"

#include <curl/curl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace kiln::registry {

namespace {

constexpr size_t kErrorBodyLimit = 64 << 10;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// State one transfer's callbacks share.
struct Transfer {
  CURL* h = nullptr;
  const Context* ctx = nullptr;
  const HttpRequest* req = nullptr;
  HttpResponse resp;
  Status error;  // set by a callback that aborted the transfer
  size_t body_sent = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect or 100 Continue)
    t->resp.headers.clear();
    t->resp.body.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->resp.headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                 std::string(Trim(line.substr(colon + 1))));
  }
  return size * n;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
  bool success = code >= 200 && code < 300;
  if (success && t->req->on_body) {
    Status s = t->req->on_body(std::string_view(data, len));
    if (!s.ok()) {
      t->error = s;
      return 0;
    }
    return len;
  }
  if (!success) {
    size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, t->resp.body.size());
    t->resp.body.append(data, std::min(room, len));
    return len;
  }
  if (static_cast<int64_t>(t->resp.body.size() + len) > t->req->max_body) {
    t->error = ResourceExhausted("response of " + t->req->url + " is larger than " +
                                 std::to_string(t->req->max_body) + " bytes");
    return 0;
  }
  t->resp.body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t want = size * n;
  if (t->req->body_reader) {
    auto got = t->req->body_reader(buf, want);
    if (!got.ok()) {
      t->error = got.status();
      return CURL_READFUNC_ABORT;
    }
    return *got;
  }
  size_t left = t->req->body.size() - t->body_sent;
  size_t k = std::min(left, want);
  std::memcpy(buf, t->req->body.data() + t->body_sent, k);
  t->body_sent += k;
  return k;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->ctx->cancelled() ? 1 : 0;
}

bool IsTlsError(CURLcode rc) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
      return true;
    default:
      return false;
  }
}

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(CurlOptions opts) : opts_(std::move(opts)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }
  ~CurlHttpClient() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  Result<HttpResponse> Do(const Context& ctx, const HttpRequest& req) override {
    KILN_RETURN_IF_ERROR(ctx.Err());
    CURL* h = Acquire();
    if (h == nullptr) return Internal("curl_easy_init failed");
    Transfer t;
    t.h = h;
    t.ctx = &ctx;
    t.req = &req;
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers) {
      headers = curl_slist_append(headers, (k + ": " + v).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");
    char errbuf[CURL_ERROR_SIZE] = {0};
    Setup(h, ctx, req, &t, headers, errbuf);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    char* eff = nullptr;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    t.resp.status = static_cast<int>(code);
    t.resp.url = eff ? eff : req.url;
    curl_slist_free_all(headers);
    Release(h);
    if (rc == CURLE_OK) return std::move(t.resp);
    return TransportError(ctx, req, t, rc, errbuf, static_cast<int>(os_errno));
  }

 private:
  void Setup(CURL* h, const Context& ctx, const HttpRequest& req, Transfer* t, curl_slist* headers,
             char* errbuf) {
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, opts_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
    // A connection that moves less than 1 byte/s for stall_timeout is dead.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.stall_timeout.count()));
    if (auto dl = ctx.deadline()) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*dl - Context::Clock::now());
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                       static_cast<long>(std::max<int64_t>(1, left.count())));
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnWrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
    if (req.tls.insecure) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (req.tls.ca_pem) {
      curl_blob blob{const_cast<char*>(req.tls.ca_pem->data()), req.tls.ca_pem->size(),
                     CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    bool has_body = req.body_reader != nullptr || !req.body.empty();
    if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, t);
      int64_t size = req.body_reader ? req.body_size : static_cast<int64_t>(req.body.size());
      if (size >= 0) curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
      if (req.method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    } else if (req.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (req.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
  }

  static Status TransportError(const Context& ctx, const HttpRequest& req, const Transfer& t,
                               CURLcode rc, const char* errbuf, int os_errno) {
    if (!t.error.ok()) return t.error;
    if (!ctx.Err().ok()) return ctx.Err();
    std::string where = HostPortOf(t.resp.url.empty() ? req.url : t.resp.url);
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
          return Unavailable("connect to " + where + ": connection refused");
        return Unavailable("connect to " + where + ": " +
                           (os_errno ? std::string(std::strerror(os_errno)) : detail));
      case CURLE_COULDNT_RESOLVE_HOST:
        return Unavailable("lookup " + where + ": no such host");
      case CURLE_OPERATION_TIMEDOUT:
        return Unavailable(req.method + " " + req.url + ": timeout (" + detail + ")");
      case CURLE_ABORTED_BY_CALLBACK:
        return Cancelled(req.method + " " + req.url + ": aborted");
      default:
        break;
    }
    if (IsTlsError(rc)) {
      return FailedPrecondition("TLS with " + where + ": " + detail +
                                " (set ca or insecure for this registry in kilnd's config)");
    }
    return Unavailable(req.method + " " + req.url + ": " + detail);
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    curl_easy_reset(h);  // keeps the connection cache
    std::lock_guard<std::mutex> l(mu_);
    if (idle_.size() < opts_.max_idle_handles) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

  const CurlOptions opts_;
  std::mutex mu_;
  std::vector<CURL*> idle_;  // guarded by mu_
};

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "read CA file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  std::string n = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == n) return v;
  }
  return "";
}

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::string n = Lower(name);
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == n) out.push_back(v);
  }
  return out;
}

std::shared_ptr<HttpClient> NewCurlHttpClient(CurlOptions opts) {
  return std::make_shared<CurlHttpClient>(std::move(opts));
}

Result<std::shared_ptr<const std::string>> LoadCaBundle(const std::vector<std::string>& files) {
  std::string pem;
  for (const char* sys :
       {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}) {
    if (auto r = ReadFile(sys); r.ok()) {
      pem = std::move(*r);
      break;
    }
  }
  for (const auto& f : files) {
    KILN_ASSIGN_OR_RETURN(std::string more, ReadFile(f));
    pem += "\n" + more;
  }
  return std::make_shared<const std::string>(std::move(pem));
}

std::string HostPortOf(std::string_view url) {
  std::string_view scheme = "https";
  if (size_t p = url.find("://"); p != std::string_view::npos) {
    scheme = url.substr(0, p);
    url.remove_prefix(p + 3);
  }
  std::string_view host = url.substr(0, url.find_first_of("/?#"));
  if (size_t at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  bool has_port = host.starts_with("[") ? host.find("]:") != std::string_view::npos
                                        : host.find(':') != std::string_view::npos;
  if (has_port) return std::string(host);
  return std::string(host) + (scheme == "http" ? ":80" : ":443");
}

}  // namespace kiln::registry
