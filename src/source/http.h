#pragma once
// The http:// and https:// sources (BuildKit's source/http): a URL downloaded into a ref holding
// one file. A download with an ETag is remembered in the ref's metadata (found by the URL's
// hash), so a later build first asks the server whether it changed (HEAD, then a conditional
// GET with If-None-Match) and reuses the ref when it did not. A pinned http.checksum makes the
// cache key known without any request and is checked against what is downloaded.
// Thread-safe.

#include <chrono>
#include <memory>
#include <string>

#include "cache/manager.h"
#include "registry/http.h"
#include "solver/progress.h"
#include "source/http_identifier.h"
#include "source/secret_fn.h"

namespace kiln::source {

struct HttpSourceOptions {
  std::chrono::milliseconds connect_timeout{30000};
  // A server that sends nothing for this long fails the download (see HttpRequest).
  std::chrono::seconds stall_timeout{60};
};

struct HttpResult {
  Digest content;             // sha256 of the file
  std::string filename;       // the file's name in the ref
  std::string last_modified;  // the Last-Modified header it came with, "" if none
  cache::ImmutableRef ref;    // holds /<filename>
  bool downloaded = false;    // false: an ETag said an earlier download is current
};

class HttpSource {
 public:
  HttpSource(cache::Manager* cache, std::shared_ptr<registry::HttpClient> client,
             HttpSourceOptions opts = {})
      : cache_(cache), client_(std::move(client)), opts_(opts) {}

  // What the URL holds now: an earlier download the server confirms by ETag, or a new one.
  // With a pinned checksum a download that does not match fails, naming both digests.
  // `secrets` (may be null) gives the Authorization header's secrets (HttpAuthSecrets).
  Result<HttpResult> Fetch(const Context& ctx, const HttpIdentifier& id,
                           solver::VertexProgress* progress, const SecretFn& secrets = nullptr);

 private:
  struct Known;
  Result<HttpResult> Download(const Context& ctx, const HttpIdentifier& id,
                              const std::vector<Known>& known, const std::string& auth,
                              solver::VertexProgress* progress);
  registry::HttpRequest NewRequest(const HttpIdentifier& id, const std::string& method,
                                   const std::string& auth) const;
  static std::string IfNoneMatch(const std::vector<Known>& known);  // "<etag>, <etag>"

  cache::Manager* cache_;
  std::shared_ptr<registry::HttpClient> client_;
  HttpSourceOptions opts_;
};

}  // namespace kiln::source
