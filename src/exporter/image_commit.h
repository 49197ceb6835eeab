#pragma once
// Image assembly (BuildKit's ImageWriter.Commit for one platform): the result's layers
// (layer_chain.h), the image config the frontend made (or a default one) patched with
// rootfs.diff_ids, history matched to the layers and times, and a manifest, both written into
// the content store. Stateless; thread-safe as far as the cache, snapshotter and store are.
//
// History and times follow BuildKit: history entries that say they have a layer are matched to
// the layers in order; layers without an entry get one from their ref ("created_by" its
// description, comment "buildkit.exporter.image.v0"); entries without "created" take their
// layer's ref creation time, then the times around them. With a SOURCE_DATE_EPOCH, history and
// "created" times after it become it.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/layer_chain.h"
#include "registry/manifest.h"

namespace kiln::exporter {

struct ImageCommitOptions {
  layer::LayerOptions layers;    // oci_mediatypes unset: Docker media types
  std::optional<int64_t> epoch;  // SOURCE_DATE_EPOCH, unix seconds
  std::map<std::string, std::string> manifest_annotations;  // OCI media types only
};

struct CommittedImage {
  registry::Descriptor manifest;  // media type, digest, size
  registry::Descriptor config;
  std::vector<ChainLayer> layers;
  std::string config_json;
  std::string manifest_json;
};

// The config of an image without one from the frontend: linux/amd64, PATH, WorkingDir "/".
std::string DefaultImageConfig();

// Patches `config_json` (the frontend's "containerimage.config"; "" for the default) for these
// layers: rootfs, history, created. InvalidArgument names what is wrong with the config.
Result<std::string> PatchImageConfig(const std::string& config_json,
                                     const std::vector<ChainLayer>& layers,
                                     std::optional<int64_t> epoch);

// Exports the layers of `ref` and writes the config and manifest into `store` (all added to
// `lease`).
Result<CommittedImage> CommitImage(const Context& ctx, cache::Manager& cache, content::Store& store,
                                   const cache::ImmutableRef& ref, const std::string& config_json,
                                   const ImageCommitOptions& opts, content::Lease* lease,
                                   solver::VertexProgress* progress);

}  // namespace kiln::exporter
