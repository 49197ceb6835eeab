#pragma once
// Copies blobs of the daemon's content store into a content store the client serves in its
// session (containerd.services.content.v1.Content, wire-protocol.md §4.7), the way BuildKit's
// oci exporter with tar=false copies an image into the client's OCI layout directory
// (contentutil.CopyChain through session/content.NewCallerStore). Each call carries the metadata
// `buildkit-attachable-store-id: <store id>`; "export" is the oci/docker exporter's directory.
//
// Per blob: Write stream STAT(ref, total, expected) → WRITE(offset, ≤ chunk_size bytes)… →
// COMMIT(total, expected), with the blob read from the content store in chunks. AlreadyExists
// (at STAT, WRITE or COMMIT) means the client has the blob: success, counted as skipped. A
// positive offset in the STAT answer resumes an ingest the client kept. References are
// containerd's ("layer-<digest>", "config-…", "manifest-…", "index-…").
//
// Order: blobs are copied in the order given, several at a time, except that a manifest or an
// index starts only when everything before it is in, and alone; so pass children before parents
// (layers and configs, then each manifest, then the index) and the client never holds a
// manifest whose blobs are missing. The first failure cancels the rest.
// Stateless function; safe from any thread.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "content/store.h"
#include "session/session.h"
#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::session {

inline constexpr char kContentWriteMethod[] = "/containerd.services.content.v1.Content/Write";
// The store id of the oci/docker exporters writing to a client directory (tar=false).
inline constexpr char kExportStoreId[] = "export";

// What to copy: a descriptor's essentials (the media type picks the ingest reference and marks
// manifests and indexes).
struct BlobDescriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;  // must match the blob in the store
};

struct BlobProgress {
  const BlobDescriptor* blob = nullptr;
  int64_t written = 0;   // bytes the client has acknowledged so far
  bool done = false;     // the client has the blob (copied or skipped)
  bool skipped = false;  // it had it already (AlreadyExists)
};

struct BlobCopyOptions {
  int parallel = 3;             // blobs copied at the same time (manifests: one)
  size_t chunk_size = 1 << 20;  // bytes per WRITE message
  int window = 4;               // WRITE messages sent ahead of their answers
  // Called after each acknowledged chunk and once when a blob is done; calls are serialized (one
  // at a time, from the copier's threads).
  std::function<void(const BlobProgress&)> progress;
};

struct BlobCopyStats {
  int blobs_copied = 0;
  int blobs_skipped = 0;
  int64_t bytes_sent = 0;
};

// Copies `blobs` from `store` to the client's store `store_id` over session `s`.
// FailedPrecondition when the session serves no content store; the client's errors (NotFound
// "unknown store <id>", a digest mismatch) come back with their codes, naming the blob.
// Cancelling ctx, or the session closing, stops every transfer.
Result<BlobCopyStats> CopyBlobsToClientStore(const Context& ctx, Session& s,
                                             const std::string& store_id,
                                             const content::Store& store,
                                             const std::vector<BlobDescriptor>& blobs,
                                             const BlobCopyOptions& opts = {});

// containerd's remotes.MakeRefKey: "<kind>-<digest>" by media type.
std::string IngestRef(const BlobDescriptor& blob);
bool IsManifestOrIndex(const std::string& media_type);

}  // namespace kiln::session
