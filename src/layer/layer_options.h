#pragma once
// Layer export options, named as BuildKit's image exporter attributes (compression,
// compression-level, force-compression, oci-mediatypes, rewrite-timestamp, source-date-epoch),
// their parser with BuildKit's error messages, and the layer media types. Value types.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "layer/compress.h"
#include "util/status.h"

namespace kiln::layer {

struct LayerOptions {
  Compression compression = Compression::kGzip;  // BuildKit's default
  std::optional<int> compression_level;          // unset: the codec's default
  // Recompress layers that already have a blob in another compression (pulled ones). A layer
  // made from a snapshot diff is always compressed as asked, so ExportLayer does not look at it.
  bool force_compression = false;
  // OCI media types instead of Docker's; unset: the exporter's default (Docker's here).
  std::optional<bool> oci_mediatypes;
  // With source_date_epoch: mtimes later than the epoch are written as the epoch.
  bool rewrite_timestamp = false;
  std::optional<int64_t> source_date_epoch;  // unix seconds
  // Compression threads; 0: one per CPU.
  int threads = 0;
};

// Reads the attributes above from an exporter's attrs; other keys are the exporter's and are
// ignored. Bad values are InvalidArgument with BuildKit's text (e.g. "non-bool value specified
// for oci-mediatypes: strconv.ParseBool: parsing \"yes\": invalid syntax"); estargz is
// Unimplemented.
Result<LayerOptions> ParseLayerOptions(const std::map<std::string, std::string>& attrs);

// application/vnd.oci.image.layer.v1.tar[+gzip|+zstd] or
// application/vnd.docker.image.rootfs.diff.tar[.gzip|.zstd].
std::string LayerMediaType(Compression c, bool oci);

}  // namespace kiln::layer
