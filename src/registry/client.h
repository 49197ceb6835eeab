#pragma once
// The OCI distribution client: resolve a reference to a manifest or index descriptor, fetch
// manifests (verified against their digest), fetch blobs into the content store (through
// Store::Ensure, so concurrent pulls of one blob download it once, verified while streaming),
// and Pull: reference + platform -> manifest, config and layers, all in the store. Pushes
// (push.h): blobs, manifests, and whole images or indexes from the store to a repository.
//
// Every request goes to the reference's mirrors first (pulls only), then to the registry; is
// authorised as auth.h describes; and is retried with exponential backoff on transport failures
// (connection refused/reset, timeouts), 429 and 5xx, never on 401/403/404. Errors name the image
// (errors.h): NotFound, Unauthenticated, PermissionDenied, DataLoss (digest mismatch),
// Unavailable (registry down, after the retries). A blob upload that fails that way starts over
// from its POST, up to max_attempts times.
// Thread-safe; one Client serves many concurrent pulls and pushes.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "content/store.h"
#include "registry/auth.h"
#include "registry/hosts.h"
#include "registry/http.h"
#include "registry/image_config.h"
#include "registry/manifest.h"
#include "registry/platform.h"
#include "registry/push.h"
#include "registry/reference.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::registry {

struct ClientOptions {
  Hosts hosts;
  CredentialsFn credentials;         // may be empty: config credentials or anonymous
  std::shared_ptr<HttpClient> http;  // null: NewCurlHttpClient()
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{200};  // doubled after each failed attempt
  std::chrono::milliseconds max_backoff{3200};
  int64_t max_manifest_bytes = 4 << 20;
  int64_t max_config_bytes = 8 << 20;
  int max_concurrent_downloads = 3;  // layers of one Pull fetched in parallel
};

struct Resolved {
  Reference ref;
  Descriptor descriptor;  // the manifest or index the reference points to
};

struct PullOptions {
  bool layers = true;               // false: manifest and config only (ResolveImageConfig)
  content::Lease* lease = nullptr;  // every blob fetched is added to it
};

struct PulledImage {
  Reference ref;
  Descriptor root;                 // what the reference resolved to (an index or a manifest)
  Descriptor manifest_descriptor;  // the manifest chosen for the platform
  Manifest manifest;
  ImageConfig config;  // config.raw: the config blob's bytes
  std::vector<Descriptor> layers;
};

class Client {
 public:
  explicit Client(ClientOptions opts);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The descriptor of the manifest or index `ref` names: HEAD (GET when HEAD gives no digest,
  // size or type) with the Docker-Content-Digest header, else the digest of the body.
  Result<Resolved> Resolve(const Context& ctx, const Reference& ref);
  // The manifest or index bytes for `desc` from `ref`'s repository, verified against its digest.
  Result<std::string> FetchManifest(const Context& ctx, const Reference& ref,
                                    const Descriptor& desc);
  // Makes sure the blob is in `store`, downloading it from `ref`'s repository if needed.
  Result<content::Info> FetchBlob(const Context& ctx, const Reference& ref, const Descriptor& desc,
                                  content::Store& store, content::Lease* lease = nullptr);
  // Resolves `ref`, picks the manifest for `platform` from an index, and fetches the manifest(s),
  // config and (unless opts.layers is false) the layers into `store`.
  Result<PulledImage> Pull(const Context& ctx, const Reference& ref, const Platform& platform,
                           content::Store& store, const PullOptions& opts = {});

  // Makes sure the blob `desc` is in `ref`'s repository: HEAD; else a cross-repository mount
  // when opts.mount_from is set; else an upload read from `store` (POST, then one PUT, or PATCH
  // chunks and a closing PUT), checked against the Docker-Content-Digest the registry answers.
  Status PushBlob(const Context& ctx, const Reference& ref, const Descriptor& desc,
                  content::Store& store, const PushBlobOptions& opts = {});
  // PUTs a manifest or index (`bytes`, whose digest must be desc.digest) under ref's tag, or
  // under desc.digest when ref has none, with Content-Type desc.media_type. DataLoss when the
  // registry says it stored other bytes (Docker-Content-Digest).
  Status PushManifest(const Context& ctx, const Reference& ref, const Descriptor& desc,
                      const std::string& bytes);
  // Pushes the image or index `root` from `store` to ref's repository: every blob (config and
  // layers, in parallel, foreign layers skipped), then each manifest by digest after all it
  // points to, then `root` under ref's tag (or digest when ref has only a digest, which must
  // then be root's). Manifests already there are not sent again.
  Result<PushResult> Push(const Context& ctx, const Reference& ref, const Descriptor& root,
                          content::Store& store, const PushOptions& opts = {});

 private:
  struct Sent {
    HttpResponse response;
    int attempts = 1;
  };
  // One API request to `ep` with auth and retries. on_retry runs before a request is sent
  // again (a blob writer starts over, an upload body rewinds). Without retry_failures, a
  // transport failure or a retryable status is returned at once (upload requests: the caller
  // starts the whole upload over); a 401 is still answered and the request sent again.
  Result<Sent> Send(const Context& ctx, const Endpoint& ep, const std::string& scope,
                    HttpRequest req, const std::function<Status()>& on_retry,
                    bool retry_failures = true);
  Result<TlsConfig> TlsFor(bool insecure, const std::vector<std::string>& ca);
  Result<TlsConfig> TlsForHost(const std::string& host_port);
  Result<Resolved> ResolveAt(const Context& ctx, const Endpoint& ep, const Reference& ref);
  Status FetchBlobInto(const Context& ctx, const Reference& ref, const Descriptor& desc,
                       content::Writer& w);
  Status FetchLayers(const Context& ctx, const Reference& ref,
                     const std::vector<Descriptor>& layers, content::Store& store,
                     content::Lease* lease);
  // Push helpers (push_blob.cc, push.cc).
  struct UploadStart {
    bool mounted = false;
    std::string location;  // absolute URL of the upload session (when not mounted)
  };
  // HEAD <repo>/<path> ("blobs/<digest>", "manifests/<tag>"): 200 (with want's digest in
  // Docker-Content-Digest when want is set) -> true, 404 -> false, else the error about `what`.
  Result<bool> Exists(const Context& ctx, const Endpoint& ep, const Reference& ref,
                      const std::string& scope, const std::string& path, const std::string& what,
                      const Digest& want);
  Result<UploadStart> StartUpload(const Context& ctx, const Endpoint& ep, const Reference& ref,
                                  const std::string& scope, const Descriptor& desc,
                                  const std::string& mount_from);
  // One upload into an upload session; *restart says whether starting over may help.
  Status Upload(const Context& ctx, const Endpoint& ep, const Reference& ref,
                const std::string& scope, const Descriptor& desc, const content::Reader& blob,
                std::string location, const PushBlobOptions& opts, bool* restart);
  // `ep`, or for an upload URL on another host, an endpoint for that host (no credentials).
  Endpoint EndpointForURL(const Endpoint& ep, const std::string& url) const;

  const ClientOptions opts_;
  std::shared_ptr<HttpClient> http_;
  std::unique_ptr<Authorizer> auth_;
  std::mutex mu_;
  std::map<std::string, TlsConfig> tls_;  // by "insecure|ca files"; guarded by mu_
};

}  // namespace kiln::registry
