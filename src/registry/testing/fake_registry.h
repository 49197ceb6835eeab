#pragma once
// An in-memory OCI distribution registry for tests, served by TestHttpServer: manifests by tag
// and digest, blobs by digest, with Docker-Content-Digest headers and registry error bodies.
// A `gate` hook sees every request first and may answer it instead (auth, injected failures,
// redirects). Thread-safe once set up (set up before the first request).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/testing/http_server.h"
#include "util/digest.h"

namespace kiln::registry::testing {

// A small image: config + layers + manifest (Docker schema2 or OCI).
struct TestImage {
  std::string config;
  std::vector<std::string> layers;
  std::string manifest;
  std::string manifest_type;
  Digest config_digest;
  std::vector<Digest> layer_digests;
  Digest manifest_digest;
};

TestImage MakeImage(const std::string& arch, const std::vector<std::string>& layers,
                    bool oci = false);
// An OCI index over images, each entry with its image's platform (linux/<arch>).
std::string MakeIndex(const std::vector<std::pair<std::string, const TestImage*>>& entries);

class FakeRegistry {
 public:
  using Gate = std::function<std::optional<TestResponse>(const TestRequest&)>;

  FakeRegistry();
  // Adds the image's blobs and its manifest under `tag` and its digest in `repo`.
  void AddImage(const std::string& repo, const std::string& tag, const TestImage& image);
  // Adds a manifest or index document under `tag` (may be empty) and its digest.
  Digest AddManifest(const std::string& repo, const std::string& tag, const std::string& type,
                     const std::string& body);
  void AddBlob(const std::string& repo, const std::string& body);
  void SetGate(Gate g) { gate_ = std::move(g); }
  void set_digest_header(bool on) { digest_header_ = on; }

  TestHttpServer& server() { return *server_; }
  std::string host() const { return server_->host(); }

  TestResponse Handle(const TestRequest& r);

 private:
  struct Doc {
    std::string type;
    std::string body;
  };
  std::map<std::string, Doc> docs_;  // by request path
  Gate gate_;
  bool digest_header_ = true;
  std::unique_ptr<TestHttpServer> server_;  // last: stops before the maps go away
};

// A registry error body: {"errors":[{"code":code,"message":message}]}.
std::string ErrorBody(const std::string& code, const std::string& message);

}  // namespace kiln::registry::testing
