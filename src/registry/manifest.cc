#include "registry/manifest.h"

#include "registry/json_fields.h"

namespace kiln::registry {

namespace {

using internal::Fields;
using internal::Json;

std::string_view StripParams(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return content_type;
}

bool IsSchema1(std::string_view mt) {
  return mt == media_types::kDockerSchema1 || mt == media_types::kDockerSchema1Signed;
}

Status Schema1Error(std::string_view name) {
  return Unimplemented(std::string(name) +
                       ": Docker schema 1 manifests are not supported (deprecated by Docker); "
                       "push the image again with a current client");
}

Status ParsePlatformField(const Fields& f, std::optional<Platform>* out) {
  KILN_ASSIGN_OR_RETURN(const Json* pj, f.Object("platform"));
  if (pj == nullptr) return Status::Ok();
  Fields pf(*pj, f.where(), f.Path("platform"));
  Platform p;
  KILN_RETURN_IF_ERROR(pf.String("os", &p.os, true));
  KILN_RETURN_IF_ERROR(pf.String("architecture", &p.architecture, true));
  KILN_RETURN_IF_ERROR(pf.String("variant", &p.variant));
  KILN_RETURN_IF_ERROR(pf.String("os.version", &p.os_version));
  KILN_RETURN_IF_ERROR(pf.StringList("os.features", &p.os_features));
  *out = std::move(p);
  return Status::Ok();
}

Result<Descriptor> ParseDescriptor(const Json& j, std::string_view where, const std::string& path) {
  Fields f(j, where, path);
  if (!j.is_object()) return f.Error("", "want an object");
  Descriptor d;
  KILN_RETURN_IF_ERROR(f.String("mediaType", &d.media_type));
  std::string digest;
  KILN_RETURN_IF_ERROR(f.String("digest", &digest, true));
  if (digest.find(':') != std::string::npos && !digest.starts_with("sha256:")) {
    return Unimplemented(std::string(where) + ": " + f.Path("digest") +
                         ": unsupported digest algorithm in \"" + digest + "\"");
  }
  auto parsed = Digest::Parse(digest);
  if (!parsed.ok()) return f.Error("digest", parsed.status().message());
  d.digest = *parsed;
  KILN_RETURN_IF_ERROR(f.Int("size", &d.size, true));
  if (d.size < 0) return f.Error("size", "negative");
  KILN_RETURN_IF_ERROR(f.StringMap("annotations", &d.annotations));
  KILN_RETURN_IF_ERROR(f.StringList("urls", &d.urls));
  KILN_RETURN_IF_ERROR(f.String("artifactType", &d.artifact_type));
  KILN_RETURN_IF_ERROR(ParsePlatformField(f, &d.platform));
  return d;
}

// Parses the document, detects its type and checks schemaVersion.
struct Doc {
  Json json;
  std::string media_type;
};

Result<Doc> LoadDoc(std::string_view bytes, std::string_view hint, std::string_view name) {
  std::string where = std::string(name) + ": manifest";
  KILN_ASSIGN_OR_RETURN(Json j, internal::ParseJson(bytes, where));
  if (!j.is_object()) return InvalidArgument(where + ": want a JSON object");
  Fields f(j, where, "");
  std::string mt;
  KILN_RETURN_IF_ERROR(f.String("mediaType", &mt));
  int64_t version = 0;
  KILN_RETURN_IF_ERROR(f.Int("schemaVersion", &version));
  std::string_view h = StripParams(hint);
  if (IsSchema1(mt) || version == 1 || f.Has("fsLayers") || (mt.empty() && IsSchema1(h))) {
    return Schema1Error(name);
  }
  if (version != 2) {
    return f.Error("schemaVersion", f.Has("schemaVersion") ? "want 2" : "missing");
  }
  if (mt.empty()) {
    if (IsIndexType(h) || IsManifestType(h)) {
      mt = std::string(h);
    } else if (f.Has("manifests")) {
      mt = std::string(media_types::kOCIIndex);
    } else if (f.Has("config") || f.Has("layers")) {
      mt = std::string(media_types::kOCIManifest);
    } else {
      return InvalidArgument(where + ": neither an image manifest nor an index");
    }
  }
  return Doc{std::move(j), std::move(mt)};
}

}  // namespace

bool IsIndexType(std::string_view mt) {
  return mt == media_types::kDockerManifestList || mt == media_types::kOCIIndex;
}

bool IsManifestType(std::string_view mt) {
  return mt == media_types::kDockerManifest || mt == media_types::kOCIManifest;
}

bool IsImageConfigType(std::string_view mt) {
  return mt == media_types::kDockerConfig || mt == media_types::kOCIConfig;
}

Result<std::string> DetectManifestType(std::string_view bytes, std::string_view hint,
                                       std::string_view name) {
  KILN_ASSIGN_OR_RETURN(Doc doc, LoadDoc(bytes, hint, name));
  return doc.media_type;
}

Result<Manifest> ParseManifest(std::string_view bytes, std::string_view hint,
                               std::string_view name) {
  KILN_ASSIGN_OR_RETURN(Doc doc, LoadDoc(bytes, hint, name));
  std::string where = std::string(name) + ": manifest";
  if (!IsManifestType(doc.media_type)) {
    return InvalidArgument(where + ": media type " + doc.media_type + " is not an image manifest");
  }
  Fields f(doc.json, where, "");
  Manifest m;
  m.media_type = doc.media_type;
  KILN_RETURN_IF_ERROR(f.String("artifactType", &m.artifact_type));
  KILN_ASSIGN_OR_RETURN(const Json* config, f.Object("config", true));
  KILN_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*config, where, "config"));
  KILN_ASSIGN_OR_RETURN(const Json* layers, f.Array("layers", true));
  for (size_t i = 0; i < layers->size(); i++) {
    KILN_ASSIGN_OR_RETURN(
        Descriptor d, ParseDescriptor((*layers)[i], where, "layers[" + std::to_string(i) + "]"));
    m.layers.push_back(std::move(d));
  }
  KILN_ASSIGN_OR_RETURN(const Json* subject, f.Object("subject"));
  if (subject != nullptr) {
    KILN_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(*subject, where, "subject"));
    m.subject = std::move(d);
  }
  KILN_RETURN_IF_ERROR(f.StringMap("annotations", &m.annotations));
  return m;
}

Result<Index> ParseIndex(std::string_view bytes, std::string_view hint, std::string_view name) {
  KILN_ASSIGN_OR_RETURN(Doc doc, LoadDoc(bytes, hint, name));
  std::string where = std::string(name) + ": index";
  if (!IsIndexType(doc.media_type)) {
    return InvalidArgument(where + ": media type " + doc.media_type + " is not an index");
  }
  Fields f(doc.json, where, "");
  Index idx;
  idx.media_type = doc.media_type;
  KILN_ASSIGN_OR_RETURN(const Json* manifests, f.Array("manifests", true));
  for (size_t i = 0; i < manifests->size(); i++) {
    KILN_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*manifests)[i], where,
                                                        "manifests[" + std::to_string(i) + "]"));
    idx.manifests.push_back(std::move(d));
  }
  KILN_RETURN_IF_ERROR(f.StringMap("annotations", &idx.annotations));
  return idx;
}

Result<Descriptor> SelectManifest(const Index& index, const Platform& want, std::string_view name) {
  PlatformMatcher m(want);
  const Descriptor* best = nullptr;
  size_t best_rank = SIZE_MAX;
  const Descriptor* no_platform = nullptr;
  std::string available;
  for (const auto& d : index.manifests) {
    if (!d.platform) {
      if (no_platform == nullptr && !IsIndexType(d.media_type)) no_platform = &d;
      continue;
    }
    if (auto r = m.Rank(*d.platform); r && *r < best_rank) {
      best = &d;
      best_rank = *r;
    }
    if (d.platform->os != "unknown") {
      available += (available.empty() ? "" : ", ") + d.platform->String();
    }
  }
  if (best == nullptr) best = no_platform;
  if (best == nullptr) {
    return NotFound(std::string(name) + ": no match for platform " + want.String() +
                    " in the manifest list (it has: " +
                    (available.empty() ? std::string("nothing") : available) + ")");
  }
  return *best;
}

}  // namespace kiln::registry
