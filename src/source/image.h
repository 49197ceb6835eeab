#pragma once
// The docker-image:// source (BuildKit's source/containerimage): resolve a reference to a
// manifest for a platform, fetch its config (the cache key and what ResolveImageConfig returns),
// then fetch the layers into the content store and unpack them, one ref per layer keyed by its
// OCI chain ID, so images that share layers share the unpacked refs and each layer is unpacked
// once however many builds want it at the same time. Thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cache/manager.h"
#include "content/store.h"
#include "pb/ops.pb.h"
#include "registry/client.h"
#include "solver/progress.h"
#include "util/keyed_mutex.h"

namespace kiln::source {

// BuildKit's image.resolvemode attr: "default" asks the registry what a tag points to,
// "pull" always does, "local" (prefer-local) uses an image pulled before when there is one.
enum class ResolveMode { kDefault, kPull, kPreferLocal };

Result<ResolveMode> ParseResolveMode(std::string_view s);

struct ImageIdentifier {
  registry::Reference ref;
  ResolveMode mode = ResolveMode::kDefault;
  registry::Platform platform;
};

// Parses a docker-image:// SourceOp; `platform` is the op's (null: the host's).
Result<ImageIdentifier> ParseImage(const pb::SourceOp& op, const pb::Platform* platform);

struct ResolvedImage {
  registry::Reference ref;  // as asked
  Digest root_digest;       // what the reference points to (an index or a manifest)
  registry::Descriptor manifest_descriptor;
  registry::Manifest manifest;
  registry::ImageConfig config;  // config.raw: the blob's bytes
  // Whether the blobs came from ref's registry (recorded with the layers for cross-repository
  // mounts on push); false for a client's OCI layout.
  bool from_registry = true;
};

// Puts a blob of the image into the content store (ImageSource's Ensure-based fetchers), adding
// it to `lease`.
using BlobFetchFn =
    std::function<Status(const Context&, const registry::Descriptor&, content::Lease*)>;

// OCI chain IDs of a layer stack (diff IDs base first): chain[0] = diff[0],
// chain[i] = sha256(chain[i-1] + " " + diff[i]).
std::vector<Digest> ChainIDs(const std::vector<Digest>& diff_ids);

class ImageSource {
 public:
  ImageSource(content::Store* store, cache::Manager* cache, registry::Hosts hosts)
      : store_(store), cache_(cache), hosts_(std::move(hosts)) {}

  // Resolves `id` and fetches its manifest and config (no layers); the blobs stay in the store
  // and the reference is remembered for prefer-local resolves.
  Result<ResolvedImage> Resolve(const Context& ctx, const ImageIdentifier& id,
                                const registry::CredentialsFn& creds,
                                solver::VertexProgress* progress);

  // Content GC after a cache prune: forgets pulled images none of whose unpacked layer refs
  // remain (their blobs can be fetched again), then removes every blob no image record, lease or
  // download in progress holds.
  Result<content::GCStats> CollectGarbage(const Context& ctx);

  // Fetches the layers of a resolved image and unpacks them; the ref holds the image's root
  // filesystem (an empty ref for an image without layers).
  Result<cache::ImmutableRef> Unpack(const Context& ctx, const ResolvedImage& img,
                                     const registry::CredentialsFn& creds,
                                     solver::VertexProgress* progress);
  // The same with the layers fetched by `fetch` (an image that is not in a registry).
  Result<cache::ImmutableRef> UnpackWith(const Context& ctx, const ResolvedImage& img,
                                         const BlobFetchFn& fetch,
                                         solver::VertexProgress* progress);

  content::Store* store() const { return store_; }

 private:
  std::unique_ptr<registry::Client> NewClient(const registry::CredentialsFn& creds) const;
  Result<ResolvedImage> ResolveLocal(const Context& ctx, const ImageIdentifier& id);
  Result<ResolvedImage> FromPulled(const ImageIdentifier& id, registry::PulledImage p);
  Result<cache::ImmutableRef> UnpackLayer(const Context& ctx, const BlobFetchFn& fetch,
                                          const ResolvedImage& img, size_t i, const Digest& chain,
                                          const cache::ImmutableRef* parent,
                                          solver::VertexProgress* progress);

  content::Store* store_;
  cache::Manager* cache_;
  registry::Hosts hosts_;
  KeyedMutex unpacking_;  // one unpack per chain ID at a time
};

}  // namespace kiln::source
