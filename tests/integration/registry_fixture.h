#pragma once
// Test registries for integration tests: Debian's docker-registry on 127.0.0.1 (a free port),
// started by tests/fixtures/registry.py in a temporary directory, and the offline fixture
// images of tests/fixtures/make-images.py (see docs/dev/testing.md).
//
// A RegistryFixture owns its registry process and its directory: both go away with it, and so
// does the registry if the test process dies (PR_SET_PDEATHSIG). When the current test has
// failed, the destructor prints the tails of the registry's logs. Not thread-safe: one test
// thread owns a fixture; separate fixtures (and separate test processes) are independent.

#include <sys/types.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::itest {

enum class RegistryMode {
  kPlain,  // HTTP, anonymous
  kBasic,  // HTTPS with a fresh self-signed CA, htpasswd (bcrypt) basic auth
  kToken,  // HTTP, bearer tokens (ES256 JWT, x5c) from a token service on another port
};
const char* RegistryModeName(RegistryMode mode);

class RegistryFixture {
 public:
  RegistryFixture();
  ~RegistryFixture();
  // Owns a process and a directory.
  RegistryFixture(const RegistryFixture&) = delete;
  RegistryFixture& operator=(const RegistryFixture&) = delete;

  // Starts the registry (and in kToken its token service); extra_args go to `registry.py run`
  // (e.g. "--anonymous-pull", "--token-ttl", "5"). False with error() set on failure.
  // Stop then Start keeps the stored images but gives a new port, CA and password.
  bool Start(RegistryMode mode, const std::vector<std::string>& extra_args = {});
  void Stop();
  bool running() const { return pid_ > 0; }

  // Builds the fixture images (all but "big" when `images` is empty) and pushes them here;
  // returns make-images.py's JSON ({"images": {name: {ref, digest, layers, files, ...}}}), or
  // a discarded value with error() set. Layouts are cached in cache_dir (default: the
  // KILN_FIXTURE_CACHE environment variable, else this fixture's own directory).
  nlohmann::json PushFixtureImages(const std::vector<std::string>& images = {},
                                   const std::string& cache_dir = "");
  // Start(kPlain) then PushFixtureImages(images): the images' JSON, or a discarded value with
  // error() saying which step failed ("registry: ...", "fixture images: ...").
  nlohmann::json StartPlainWithImages(const std::vector<std::string>& images);

  // Access-log lines with this method (all when empty) whose request path starts with
  // path_prefix, and with this HTTP status when non-zero. E.g.
  // CountRequests("GET", "/v2/busybox/blobs/") counts blob downloads.
  int CountRequests(const std::string& method, const std::string& path_prefix,
                    int status = 0) const;
  // The same over the token service's log (kToken only; paths start with "/token").
  int CountTokenRequests(const std::string& method = "", int status = 0) const;

  RegistryMode mode() const { return mode_; }
  const std::string& host() const { return host_; }  // "127.0.0.1:PORT"
  const std::string& url() const { return url_; }    // "http(s)://127.0.0.1:PORT"
  bool tls() const { return tls_; }
  const std::string& ca_cert() const { return ca_cert_; }    // CA PEM path (kBasic), or ""
  const std::string& cert_dir() const { return cert_dir_; }  // dir with ca.crt, or ""
  const std::string& username() const { return username_; }  // "" when anonymous
  const std::string& password() const { return password_; }
  const std::string& token_url() const { return token_url_; }  // kToken: the realm
  const std::string& dir() const { return dir_; }
  const nlohmann::json& state() const { return state_; }  // registry.py's state.json
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }

  // skopeo options to reach this registry: TLS (CA dir or no verification) and credentials.
  // `side` is "src" or "dest" for `skopeo copy`, "" for `skopeo inspect`.
  std::vector<std::string> SkopeoArgs(const std::string& side = "") const;
  // One request made with Python's urllib by registry.py probe (anonymous: no credentials):
  // {"status": 401, "headers": {...}, "body": "..."}; a discarded value on failure.
  nlohmann::json Probe(const std::string& path, bool anonymous,
                       const std::string& method = "GET") const;

  // The tails of the supervisor, registry, access and token logs.
  std::string Log() const;

 private:
  std::string dir_;
  std::string state_path_;
  RegistryMode mode_ = RegistryMode::kPlain;
  nlohmann::json state_;
  std::string host_, url_, ca_cert_, cert_dir_, username_, password_, token_url_;
  std::string access_log_, token_log_;
  bool tls_ = false;
  pid_t pid_ = -1;
  std::string error_;
};

// Where the fixture scripts live (KILN_FIXTURES_DIR, else the source tree's tests/fixtures).
std::string FixturesDir();

// Non-throwing reads of the fixtures' JSON (nlohmann's operator[] on a const value with a
// missing key is undefined, and get<>() throws): JsonAt(images, {"busybox", "layers", 0,
// "digest"}) is the value at that path of object keys and array indexes, or null when a step
// is missing; JsonStr is the string, or "" for anything else.
struct JsonKey {
  JsonKey(const char* k) : key(k) {}         // NOLINT(google-explicit-constructor)
  JsonKey(const std::string& k) : key(k) {}  // NOLINT(google-explicit-constructor)
  JsonKey(int i) : index(static_cast<size_t>(i)), is_index(true) {}  // NOLINT
  JsonKey(size_t i) : index(i), is_index(true) {}                    // NOLINT
  std::string key;
  size_t index = 0;
  bool is_index = false;
};
const nlohmann::json& JsonAt(const nlohmann::json& j, std::initializer_list<JsonKey> path);
std::string JsonStr(const nlohmann::json& j);

}  // namespace kiln::itest
