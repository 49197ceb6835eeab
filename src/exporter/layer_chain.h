#pragma once
// The layers of a result for an image (BuildKit's GetRemotes over a ref's layer chain): one
// layer per ref from the base of its parent chain up to the ref itself, each the diff of the
// ref's snapshot against its parent's. A blob made before for the same ref is reused (the cache
// manager remembers it per variant, the content store keeps the bytes), and so is the blob an
// unpacked image layer was pulled as, unless force-compression asks for another compression;
// only the missing layers are diffed and compressed, several at a time. Stateless; thread-safe
// as far as the cache manager, snapshotter and store are.
//
// A merge result (its inputs recorded under cache::kMergeInputsKey) is its inputs' layers in
// merge order, each input with its own parent chain, as BuildKit exports a merge (COPY --link
// keeps the copy's own layer); while an input has been pruned, or is a diff result, the merge
// is one flat layer over its parent like any other ref.
//
// Not yet: a diff result's deletions are not written as whiteouts.

#include <string>
#include <vector>

#include "cache/manager.h"
#include "content/lease.h"
#include "content/store.h"
#include "layer/layer_export.h"
#include "solver/progress.h"

namespace kiln::exporter {

struct ChainLayer {
  layer::LayerDescriptor blob;  // diff stats are empty for a reused blob
  std::string ref_id;
  std::string description;  // the ref's, for history entries the frontend did not write
  int64_t created_at = 0;   // unix ns, the ref's
  bool reused = false;      // an existing blob, not made by this call
  std::string variant;      // the blob's variant in the ref's blob records
  // The repository the blob is known to be in: where a pulled blob came from, or where kiln
  // last pushed it ("" for none).
  std::string source;
};

// Remembers that the blob of `layer` is now in `repository` ("docker.io/library/app"), so a
// later push to another repository of that registry mounts it instead of uploading. A pulled
// blob keeps its source.
Status RecordBlobSource(cache::Manager& cache, const ChainLayer& layer,
                        const std::string& repository);

// The variant name under which blobs made with `opts` are remembered per ref.
std::string BlobVariant(const layer::LayerOptions& opts);

// The layer media type `media_type` becomes in an image with OCI or Docker media types (the
// compression it names is kept); other types are returned as they are.
std::string ConvertLayerMediaType(const std::string& media_type, bool oci);

// The layers of `ref` (none for an invalid ref: an empty image), base first, each blob in
// `store` and added to `lease`. Progress: one status line per layer made or reused.
Result<std::vector<ChainLayer>> ExportLayerChain(const Context& ctx, cache::Manager& cache,
                                                 content::Store& store,
                                                 const cache::ImmutableRef& ref,
                                                 const layer::LayerOptions& opts,
                                                 content::Lease* lease,
                                                 solver::VertexProgress* progress);

}  // namespace kiln::exporter
