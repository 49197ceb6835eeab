#pragma once
// What an image archive holds, before any of it is written (internal to image_archive.cc): the
// blobs reachable from the root, checked against the content store, and the small generated
// files (oci-layout, index.json, and for docker manifest.json and repositories). The tar writer
// and the directory writer both write a PlanImageLayout result. Functions only; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "content/store.h"
#include "exporter/image_archive.h"
#include "registry/manifest.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::exporter::internal {

inline constexpr uint32_t kBlobMode = 0444;  // content-addressed: never rewritten
inline constexpr uint32_t kDirMode = 0755;

struct LayoutBlob {
  registry::Descriptor desc;
  std::string referrer;  // for errors: "layer 1 of manifest sha256:..."
};

struct LayoutFile {
  std::string name;  // "index.json"
  std::string data;
  uint32_t mode = 0644;
};

struct ImageLayout {
  std::vector<LayoutBlob> blobs;  // sorted by digest, each once
  std::vector<LayoutFile> files;  // sorted by name
};

// The path of a blob inside the layout: "blobs/sha256/<hex>".
std::string BlobPath(const Digest& d);

// Walks the image from root (reading manifests and indexes from the store) and builds the files.
Result<ImageLayout> PlanImageLayout(const Context& ctx, const content::Store& store,
                                    const registry::Descriptor& root, const ArchiveOptions& opts);

}  // namespace kiln::exporter::internal
