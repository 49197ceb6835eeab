#pragma once
// Options, progress and results of pushes (Client::PushBlob, PushManifest and Push in client.h;
// the blob upload protocol is in push_blob.cc, the walk over an image in push.cc). A push sends
// what the content store holds to one registry (never a mirror) as the OCI distribution spec
// says: HEAD skips what is there, a cross-repository mount tries to avoid an upload, blobs go
// in one PUT or in PATCH chunks, manifests after everything they point to, the root last.
// Value types; the progress callback is called from the uploading threads, possibly at the
// same time for different blobs, and must be thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "registry/manifest.h"
#include "util/digest.h"

namespace kiln::registry {

// How a blob got into the target repository.
enum class BlobOutcome {
  kUploaded,  // sent by us
  kExisted,   // HEAD found it there already
  kMounted,   // the registry mounted it from another repository
};

struct PushProgress {
  Digest digest;
  std::string media_type;
  int64_t offset = 0;  // bytes of the blob sent so far (back to 0 when an upload starts over)
  int64_t total = 0;
  bool done = false;
  BlobOutcome outcome = BlobOutcome::kUploaded;  // meaningful when done
};
using PushProgressFn = std::function<void(const PushProgress&)>;

// Blobs up to this size go in one PUT; larger ones in PATCH requests of this size each (0: one
// PUT whatever the size). Bodies are streamed from the content store, so memory does not grow
// with it.
inline constexpr int64_t kDefaultPushChunkSize = 16 << 20;

struct PushBlobOptions {
  // A repository on the same registry that may hold the blob ("library/busybox"): mounted from
  // there when the registry can, else uploaded. Empty: upload.
  std::string mount_from;
  int64_t chunk_size = kDefaultPushChunkSize;
  PushProgressFn progress;
};

struct PushOptions {
  int max_concurrent_uploads = 3;  // config and layers sent in parallel
  int64_t chunk_size = kDefaultPushChunkSize;
  // Where a blob may be mounted from (PushBlobOptions::mount_from), e.g. the repository it was
  // pulled from; "" or unset: upload. Called from the uploading threads.
  std::function<std::string(const Descriptor&)> mount_from;
  PushProgressFn progress;  // config and layers (not manifests)
};

struct PushResult {
  Descriptor root;  // as pushed (media type filled in when the descriptor had none)
  int blobs_uploaded = 0;
  int blobs_existing = 0;  // skipped: the registry had them
  int blobs_mounted = 0;
  int blobs_foreign = 0;       // non-distributable layers, not pushed
  int64_t bytes_uploaded = 0;  // sizes of the uploaded blobs
  int manifests_pushed = 0;    // manifests and indexes PUT
  int manifests_existing = 0;  // skipped: already there (by digest, or the tag points to it)
};

// Layers that must not be pushed (containerd's IsNonDistributable): OCI non-distributable and
// Docker foreign layers.
bool IsNonDistributable(std::string_view media_type);

}  // namespace kiln::registry
