#include "layer/layer_options.h"

#include "util/go_strconv.h"

namespace kiln::layer {
namespace {

Result<Compression> ParseCompression(const std::string& v) {
  if (v == "uncompressed") return Compression::kUncompressed;
  if (v == "gzip") return Compression::kGzip;
  if (v == "zstd") return Compression::kZstd;
  if (v == "estargz") return Unimplemented("compression type estargz is not supported by kiln yet");
  return InvalidArgument("unsupported compression type " + v);
}

}  // namespace

Result<LayerOptions> ParseLayerOptions(const std::map<std::string, std::string>& attrs) {
  LayerOptions o;
  auto get = [&](const char* key) -> const std::string* {
    auto it = attrs.find(key);
    return it == attrs.end() ? nullptr : &it->second;
  };
  if (const std::string* v = get("source-date-epoch"); v && !v->empty()) {
    auto n = GoParseInt(*v);
    if (!n.ok()) {
      // BuildKit wraps the error with a message that already contains it, so it shows twice.
      const std::string& m = n.status().message();
      return InvalidArgument("invalid source-date-epoch: " + m + ": " + m);
    }
    o.source_date_epoch = *n;
  }
  if (const std::string* v = get("compression")) {
    KILN_ASSIGN_OR_RETURN(o.compression, ParseCompression(*v));
  }
  if (const std::string* v = get("force-compression")) {
    if (v->empty()) {
      o.force_compression = true;
    } else {
      auto b = GoParseBool(*v);
      if (!b.ok()) {
        return InvalidArgument("non-bool value " + *v +
                               " specified for force-compression: " + b.status().message());
      }
      o.force_compression = *b;
    }
  }
  if (const std::string* v = get("compression-level")) {
    auto n = GoParseInt(*v);
    if (!n.ok()) {
      return InvalidArgument("non-integer value " + *v +
                             " specified for compression-level: " + n.status().message());
    }
    if (*n < INT32_MIN || *n > INT32_MAX) {
      return InvalidArgument("compression-level " + *v + " is out of range");
    }
    o.compression_level = static_cast<int>(*n);
    if (o.compression == Compression::kGzip && (*n < -2 || *n > 9)) {
      return InvalidArgument("gzip: invalid compression level: " + *v);
    }
  }
  for (const char* key : {"oci-mediatypes", "rewrite-timestamp"}) {
    const std::string* v = get(key);
    if (!v) continue;
    auto b = GoParseBool(*v);
    if (!b.ok()) {
      return InvalidArgument(std::string("non-bool value specified for ") + key + ": " +
                             b.status().message());
    }
    if (std::string_view(key) == "oci-mediatypes") {
      o.oci_mediatypes = *b;
    } else {
      o.rewrite_timestamp = *b;
    }
  }
  return o;
}

std::string LayerMediaType(Compression c, bool oci) {
  std::string base = oci ? "application/vnd.oci.image.layer.v1.tar"
                         : "application/vnd.docker.image.rootfs.diff.tar";
  switch (c) {
    case Compression::kUncompressed:
      return base;
    case Compression::kGzip:
    case Compression::kEstargz:
      return base + (oci ? "+gzip" : ".gzip");
    case Compression::kZstd:
      return base + (oci ? "+zstd" : ".zstd");
  }
  return base;
}

}  // namespace kiln::layer
