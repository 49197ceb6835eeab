#include "exporter/image_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "registry/platform.h"
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

struct AnnotationKey {
  std::string type;      // manifest, manifest-descriptor, index, index-descriptor
  std::string platform;  // normalised, "" for all
  std::string key;
};

// annotation(-TYPE)?([PLATFORM])?.KEY as BuildKit's exptypes.ParseAnnotationKey reads it: TYPE of
// [a-z-], PLATFORM of [A-Za-z0-9_/-], KEY without white space. Other keys: nullopt. `where`
// names the key's origin in errors ("exporter attribute", "frontend metadata").
Result<std::optional<AnnotationKey>> ParseAnnotationKey(const std::string& attr,
                                                        std::string_view where) {
  constexpr std::string_view kPrefix = "annotation";
  if (!HasPrefix(attr, kPrefix)) return std::optional<AnnotationKey>();
  size_t i = kPrefix.size();
  auto span = [&](auto allowed) {
    size_t start = i;
    while (i < attr.size() && allowed(attr[i])) i++;
    return attr.substr(start, i - start);
  };
  AnnotationKey a;
  if (i < attr.size() && attr[i] == '-') {
    i++;
    a.type = span([](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
    if (a.type.empty()) return std::optional<AnnotationKey>();
  }
  if (i < attr.size() && attr[i] == '[') {
    i++;
    std::string p = span([](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '/' || c == '-'; });
    if (p.empty() || i >= attr.size() || attr[i] != ']') return std::optional<AnnotationKey>();
    i++;
    auto parsed = registry::ParsePlatform(p);
    if (!parsed.ok()) return parsed.status().Annotate(fmt::format("{} {}", where, attr));
    a.platform = registry::Normalize(*parsed).String();
  }
  if (i >= attr.size() || attr[i] != '.') return std::optional<AnnotationKey>();
  a.key = attr.substr(i + 1);
  if (a.key.empty() || std::any_of(a.key.begin(), a.key.end(),
                                   [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return std::optional<AnnotationKey>();
  }
  if (a.type.empty()) a.type = "manifest";
  if (a.type != "manifest" && a.type != "manifest-descriptor" && a.type != "index" &&
      a.type != "index-descriptor") {
    return InvalidArgument(
        fmt::format("{} {}: unrecognized annotation type {}", where, attr, a.type));
  }
  return std::optional<AnnotationKey>(std::move(a));
}

Status AddAnnotation(ImageExportOptions& o, const AnnotationKey& a, const std::string& v) {
  if (a.type == "index") {
    o.index_annotations[a.key] = v;  // a platform means nothing for the index (as BuildKit)
  } else if (a.type == "index-descriptor") {
    o.index_descriptor_annotations[a.key] = v;
  } else if (a.platform.empty()) {
    (a.type == "manifest" ? o.manifest_annotations : o.manifest_descriptor_annotations)[a.key] = v;
  } else {
    auto& pa = o.platform_annotations[a.platform];
    (a.type == "manifest" ? pa.manifest : pa.manifest_descriptor)[a.key] = v;
  }
  return Status::Ok();
}

}  // namespace

namespace {

using AnnotationMap = std::map<std::string, std::string>;

// `all`, then what `field` of platform `id`'s annotations adds or replaces.
AnnotationMap ForPlatform(const AnnotationMap& all,
                          const std::map<std::string, ImageExportOptions::PlatformAnnotations>& by,
                          const std::string& id,
                          AnnotationMap ImageExportOptions::PlatformAnnotations::*field) {
  AnnotationMap out = all;
  if (auto it = by.find(id); !id.empty() && it != by.end()) {
    for (const auto& [k, v] : it->second.*field) out[k] = v;
  }
  return out;
}

}  // namespace

AnnotationMap ImageExportOptions::ManifestAnnotations(const std::string& id) const {
  return ForPlatform(manifest_annotations, platform_annotations, id, &PlatformAnnotations::manifest);
}

AnnotationMap ImageExportOptions::ManifestDescriptorAnnotations(const std::string& id) const {
  return ForPlatform(manifest_descriptor_annotations, platform_annotations, id,
                     &PlatformAnnotations::manifest_descriptor);
}

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
    } else if (k == "annotation." || (HasPrefix(k, "annotation-") && k.back() == '.')) {
      return InvalidArgument("exporter attribute " + k + ": empty annotation key");
    } else {
      KILN_ASSIGN_OR_RETURN(std::optional<AnnotationKey> a,
                            ParseAnnotationKey(k, "exporter attribute"));
      if (a) KILN_RETURN_IF_ERROR(AddAnnotation(o, *a, v));
    }
  }
  // Annotations in the frontend's result metadata, over the attributes' (as BuildKit's
  // exporters merge them).
  for (const auto& [k, v] : metadata) {
    KILN_ASSIGN_OR_RETURN(std::optional<AnnotationKey> a,
                          ParseAnnotationKey(k, "frontend metadata"));
    if (a) KILN_RETURN_IF_ERROR(AddAnnotation(o, *a, v));
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
