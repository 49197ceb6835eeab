#pragma once
// ExportLayer: the layer blob of a snapshot against its parent (BuildKit's computeBlobChain for
// one ref): the diff (layer_diff.h) is tarred, compressed (compress.h) and written into the
// content store in one pass, and the descriptor an image manifest and config need comes back.
// Thread-safe as far as the snapshotter and the store are; each call has its own pipeline.

#include <cstdint>
#include <functional>
#include <string>

#include "content/lease.h"
#include "content/store.h"
#include "layer/layer_diff.h"
#include "layer/layer_options.h"
#include "snapshot/snapshotter.h"
#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::layer {

struct LayerDescriptor {
  std::string media_type;  // by compression and oci_mediatypes (LayerMediaType)
  Digest digest;           // of the blob in the content store
  int64_t size = 0;        // of the blob
  Digest diff_id;          // sha256 of the uncompressed tar (the image config's rootfs.diff_ids)
  int64_t uncompressed_size = 0;
  DiffStats diff;
};

// Produces a layer tar into the sink it is given (a differ of layer_diff.h).
using TarProducer = std::function<Result<DiffStats>(const ByteSink& sink)>;

// The diff options LayerOptions ask for (rewrite-timestamp with source-date-epoch clamps mtimes).
DiffOptions DiffOptionsFor(const LayerOptions& opts);

// What ExportLayer does once it has chosen a differ: the tar from `produce`, compressed as opts
// say, into `store` as one blob. For trees outside a snapshotter (benchmarks, tests).
Result<LayerDescriptor> ExportTar(const Context& ctx, const TarProducer& produce,
                                  content::Store& store, const LayerOptions& opts,
                                  content::Lease* lease = nullptr);

// Writes the diff of snapshot `key` against `parent` ("" for none) into `store` as one blob,
// verified as it is committed, added to `lease` when one is given (so GC cannot take it before
// a manifest refers to it). A failure or cancellation leaves no partial blob behind.
Result<LayerDescriptor> ExportLayer(const Context& ctx, snapshot::Snapshotter& sn,
                                    const std::string& key, const std::string& parent,
                                    content::Store& store, const LayerOptions& opts,
                                    content::Lease* lease = nullptr);

}  // namespace kiln::layer
