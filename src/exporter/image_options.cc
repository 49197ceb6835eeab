#include "exporter/image_options.h"

#include "util/go_strconv.h"

namespace kiln::exporter {

namespace {

// BuildKit's bool attributes: empty means true.
Result<bool> BoolAttr(const std::string& key, const std::string& v) {
  if (v.empty()) return true;
  auto b = GoParseBool(v);
  if (!b.ok())
    return InvalidArgument("non-bool value specified for " + key + ": " + b.status().message());
  return *b;
}

bool HasPrefix(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

Result<ImageExportOptions> ParseImageExportOptions(
    ImageExporterKind kind, const std::map<std::string, std::string>& attrs,
    const std::map<std::string, std::string>& metadata) {
  ImageExportOptions o;
  KILN_ASSIGN_OR_RETURN(o.layers, layer::ParseLayerOptions(attrs));
  for (const auto& [k, v] : attrs) {
    if (k == "name") {
      size_t start = 0;
      while (start <= v.size()) {
        size_t end = v.find(',', start);
        if (end == std::string::npos) end = v.size();
        std::string n = v.substr(start, end - start);
        if (!n.empty()) o.names.push_back(n);
        start = end + 1;
      }
    } else if (k == "push") {
      KILN_ASSIGN_OR_RETURN(o.push, BoolAttr(k, v));
    } else if (k == "push-by-digest") {
      KILN_ASSIGN_OR_RETURN(o.push_by_digest, BoolAttr(k, v));
    } else if (k == "registry.insecure") {
      KILN_ASSIGN_OR_RETURN(o.insecure, BoolAttr(k, v));
    } else if (k == "unpack") {
      KILN_ASSIGN_OR_RETURN(o.unpack, BoolAttr(k, v));
    } else if (k == "store") {
      KILN_ASSIGN_OR_RETURN(o.store, BoolAttr(k, v));
    } else if (k == "name-canonical") {
      KILN_ASSIGN_OR_RETURN(o.name_canonical, BoolAttr(k, v));
    } else if (k == "dangling-name-prefix") {
      o.dangling_prefix = v;
    } else if (k == "tar" && kind != ImageExporterKind::kImage) {
      KILN_ASSIGN_OR_RETURN(o.tar, BoolAttr(k, v));
    } else if (HasPrefix(k, "annotation.")) {
      o.manifest_annotations[k.substr(11)] = v;
    } else if (HasPrefix(k, "annotation-manifest.")) {
      o.manifest_annotations[k.substr(20)] = v;
    } else if (HasPrefix(k, "annotation-manifest-descriptor.")) {
      o.manifest_descriptor_annotations[k.substr(31)] = v;
    } else if (HasPrefix(k, "annotation") && k.find('[') != std::string::npos) {
      return Unimplemented("exporter attribute " + k +
                           ": per-platform annotations are not supported by kiln yet");
    }
  }
  for (const auto& [k, v] : o.manifest_annotations) {
    if (k.empty()) return InvalidArgument("exporter attribute annotation.: empty annotation key");
  }
  if (o.layers.source_date_epoch) {
    o.epoch = o.layers.source_date_epoch;
  } else if (auto it = metadata.find("source.date.epoch");
             it != metadata.end() && !it->second.empty()) {
    auto n = GoParseInt(it->second);
    if (!n.ok()) {
      return InvalidArgument("invalid SOURCE_DATE_EPOCH from frontend: \"" + it->second +
                             "\": " + n.status().message());
    }
    o.epoch = *n;
    o.layers.source_date_epoch = *n;
  }
  if (o.layers.compression == layer::Compression::kZstd) {
    if (o.layers.oci_mediatypes && !*o.layers.oci_mediatypes) {
      return InvalidArgument(
          "exporter option \"compression=zstd\" conflicts with \"oci-mediatypes=false\"");
    }
    o.layers.oci_mediatypes = true;
  }
  if (!o.layers.oci_mediatypes) o.layers.oci_mediatypes = kind == ImageExporterKind::kOCI;
  if (o.unpack && o.layers.rewrite_timestamp) {
    return InvalidArgument("exporter option \"rewrite-timestamp\" conflicts with \"unpack\"");
  }
  return o;
}

}  // namespace kiln::exporter
