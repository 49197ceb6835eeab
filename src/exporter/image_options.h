#pragma once
// The attributes of the image, oci and docker exporters, named and checked as BuildKit's
// (exporter/containerimage/opts.go, exporter/oci): names, push, registry.insecure, store,
// annotations, tar, and the layer options of layer_options.h. Unknown keys are ignored, as
// BuildKit keeps them as metadata. Value types; pure functions.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "layer/layer_options.h"

namespace kiln::exporter {

enum class ImageExporterKind { kImage, kOCI, kDocker };

struct ImageExportOptions {
  std::vector<std::string> names;  // `name`, split at commas
  bool push = false;
  bool push_by_digest = false;
  bool insecure = false;  // registry.insecure
  bool unpack = false;
  bool store = true;  // keep the image in the content store under its names
  bool name_canonical = false;
  std::string dangling_prefix;
  bool tar = true;               // oci and docker: a tarball (false: an OCI layout directory)
  layer::LayerOptions layers;    // oci_mediatypes always set after parsing
  std::optional<int64_t> epoch;  // SOURCE_DATE_EPOCH, unix seconds
  // annotation[-TYPE][[PLATFORM]].KEY=VALUE (BuildKit's annotation keys), by where they go.
  // `annotation.K` and `annotation-manifest.K` are the manifests', `annotation-manifest-
  // descriptor.K` their descriptors', `annotation-index.K` the index's and
  // `annotation-index-descriptor.K` the index descriptor's. A [PLATFORM] (normalised) limits
  // manifest annotations to that platform's manifest of a multi-platform image.
  std::map<std::string, std::string> manifest_annotations;
  std::map<std::string, std::string> manifest_descriptor_annotations;
  std::map<std::string, std::string> index_annotations;
  std::map<std::string, std::string> index_descriptor_annotations;
  struct PlatformAnnotations {
    std::map<std::string, std::string> manifest, manifest_descriptor;
  };
  std::map<std::string, PlatformAnnotations> platform_annotations;  // by platform string

  // The manifest (descriptor) annotations of platform `id` ("" for a single-platform image):
  // those of every platform, then its own.
  std::map<std::string, std::string> ManifestAnnotations(const std::string& id) const;
  std::map<std::string, std::string> ManifestDescriptorAnnotations(const std::string& id) const;
};

// `metadata` is the frontend's result metadata: its annotation keys add to (and win over) the
// attributes', and "source.date.epoch" is the epoch when the attributes give none. OCI media
// types default to on for oci, off for image and docker, and are forced on by zstd.
Result<ImageExportOptions> ParseImageExportOptions(
    ImageExporterKind kind, const std::map<std::string, std::string>& attrs,
    const std::map<std::string, std::string>& metadata);

}  // namespace kiln::exporter
