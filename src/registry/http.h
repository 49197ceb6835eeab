#pragma once
// A small HTTP client interface for the registry code, and its libcurl implementation.
// One request per call: redirects followed (blob GETs redirect to storage; libcurl does not
// carry our Authorization header to another host), response bodies of 2xx responses streamed
// to a callback or collected, request bodies from a string or a reader (PUT/POST/PATCH for
// pushes), Context cancellation and deadlines honoured while connecting and transferring.
// HttpClient implementations are thread-safe; one instance is shared by all registry clients
// of a daemon (its connection pool).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln::registry {

struct TlsConfig {
  bool insecure = false;  // do not verify the server certificate
  // PEM bundle to verify against (the system bundle plus extra CAs, see LoadCaBundle);
  // null: libcurl's default bundle.
  std::shared_ptr<const std::string> ca_pem;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // Request body: `body`, or `body_reader` (fills buf, returns 0 at the end) with body_size
  // (-1: unknown, sent chunked).
  std::string body;
  std::function<Result<size_t>(char* buf, size_t n)> body_reader;
  int64_t body_size = -1;
  // The body of a 2xx response goes to on_body when set; otherwise it is collected into
  // HttpResponse::body, failing with ResourceExhausted beyond max_body. Bodies of other
  // responses are always collected (the first 64 KiB), for error messages.
  std::function<Status(std::string_view chunk)> on_body;
  int64_t max_body = 8 << 20;
  bool follow_redirects = true;
  std::chrono::milliseconds connect_timeout{30000};
  // A transfer that moves less than 1 byte/s for this long (a server that stopped answering)
  // fails as Unavailable with "timeout".
  std::chrono::seconds stall_timeout{60};
  TlsConfig tls;
};

struct HttpResponse {
  int status = 0;
  // Headers of the final response (after redirects), names lower-cased, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string url;  // the URL that answered (after redirects)

  // The first value of a header (case-insensitive name), or "".
  std::string Header(std::string_view name) const;
  std::vector<std::string> HeaderValues(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request. Every HTTP status is a response; errors are transport failures:
  // Unavailable (connection refused or reset, timeout, name lookup), FailedPrecondition (TLS
  // verification), the context's cause when cancelled or past its deadline, or the status
  // returned by on_body / body_reader.
  virtual Result<HttpResponse> Do(const Context& ctx, const HttpRequest& req) = 0;
};

struct CurlOptions {
  std::string user_agent = "kiln/0.1";
  size_t max_idle_handles = 8;  // easy handles (and their connections) kept for reuse
};

std::shared_ptr<HttpClient> NewCurlHttpClient(CurlOptions opts = {});

// The system CA bundle followed by the given PEM files; errors name the file.
Result<std::shared_ptr<const std::string>> LoadCaBundle(const std::vector<std::string>& files);

// "host:port" of a URL, with the scheme's default port when none is given.
std::string HostPortOf(std::string_view url);

}  // namespace kiln::registry
