#pragma once
// An in-memory OCI distribution registry for tests, served by TestHttpServer: manifests by tag
// and digest, blobs by digest, with Docker-Content-Digest headers and registry error bodies.
// It takes pushes too: blob uploads (POST, PATCH chunks with Content-Range, PUT ?digest=, the
// digest checked), cross-repository mounts (POST ?mount=&from=) and manifest PUTs; every
// request is recorded by the server (server().requests()).
// A `gate` hook sees every request first and may answer it instead (auth, injected failures,
// redirects). Thread-safe; set options and the gate up before the first request.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/platform.h"
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
  // Upload Locations as absolute URLs ("http://127.0.0.1:port/v2/..."); relative by default.
  void set_absolute_locations(bool on) { absolute_locations_ = on; }
  // Whether POST ?mount= mounts a blob the source repository has (else: a new upload, 202).
  void set_mounts(bool on) { mounts_ = on; }

  // The stored body at a request path ("/v2/app/blobs/sha256:...", "/v2/app/manifests/v1").
  std::optional<std::string> Stored(const std::string& path) const;

  TestHttpServer& server() { return *server_; }
  std::string host() const { return server_->host(); }

  TestResponse Handle(const TestRequest& r);

 private:
  struct Doc {
    std::string type;
    std::string body;
  };
  TestResponse HandlePush(const TestRequest& r, const std::string& repo, const std::string& rest);
  std::string UploadLocation(const std::string& repo, const std::string& uuid);

  mutable std::mutex mu_;
  std::map<std::string, Doc> docs_;             // by request path; guarded by mu_
  std::map<std::string, std::string> uploads_;  // upload uuid -> bytes so far; guarded by mu_
  int next_upload_ = 0;                         // guarded by mu_
  Gate gate_;
  bool digest_header_ = true;
  bool absolute_locations_ = false;
  bool mounts_ = true;
  std::unique_ptr<TestHttpServer> server_;  // last: stops before the maps go away
};

// A registry error body: {"errors":[{"code":code,"message":message}]}.
std::string ErrorBody(const std::string& code, const std::string& message);

// A response with this status and body (for handlers that stand in for the registry).
TestResponse Answer(int code, std::string body = "");

// linux/<arch>.
Platform LinuxPlatform(const std::string& arch);

}  // namespace kiln::registry::testing
