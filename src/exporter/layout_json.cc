#include "exporter/layout_json.h"

#include <map>
#include <nlohmann/json.hpp>

#include "exporter/image_layout.h"
#include "util/go_json.h"

namespace kiln::exporter::internal {

namespace {

using Json = nlohmann::ordered_json;  // keeps Go's struct field order

constexpr char kImageNameAnnotation[] = "io.containerd.image.name";
constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

// Serialises like Go's json.Marshal. The replace handler cannot throw (invalid UTF-8 becomes
// U+FFFD, as in Go); '<', '>' and '&' only occur inside strings, so escaping them in the
// output is escaping them in the strings.
std::string GoJson(const Json& j) {
  return EscapeJsonLikeGo(j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Json StringMapJson(const std::map<std::string, std::string>& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) {
    j[k] = v;
  }
  return j;
}

}  // namespace

nlohmann::ordered_json DescriptorJson(const registry::Descriptor& d) {
  Json j = Json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) {
    j["urls"] = d.urls;
  }
  if (!d.annotations.empty()) {
    j["annotations"] = StringMapJson(d.annotations);
  }
  if (d.platform) {
    j["platform"] = registry::PlatformToJSON(*d.platform);
  }
  if (!d.artifact_type.empty()) {
    j["artifactType"] = d.artifact_type;
  }
  return j;
}

namespace {

// What containerd's ociReferenceName makes of a normalised name: the tag (with the digest if
// both are given), or the whole name when there is no tag.
std::string RefName(const registry::Reference& r) {
  if (r.tag.empty()) {
    return r.String();
  }
  return r.digest.empty() ? r.tag : r.tag + "@" + r.digest.str();
}

// A JSON array, or null when empty (a nil Go slice).
Json ListOrNull(const std::vector<std::string>& v) { return v.empty() ? Json(nullptr) : Json(v); }

}  // namespace

std::string OCILayoutJson() { return GoJson(Json{{"imageLayoutVersion", "1.0.0"}}); }

std::string IndexJson(const registry::Descriptor& root,
                      const std::vector<registry::Reference>& names) {
  Json manifests = Json::array();
  if (names.empty()) {
    manifests.push_back(DescriptorJson(root));
  }
  for (const auto& n : names) {
    registry::Descriptor d = root;
    d.annotations[kImageNameAnnotation] = n.String();
    d.annotations[kRefNameAnnotation] = RefName(n);
    manifests.push_back(DescriptorJson(d));
  }
  Json j = Json::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = registry::media_types::kOCIIndex;
  j["manifests"] = std::move(manifests);
  return GoJson(j);
}

std::string DockerManifestJson(const registry::Manifest& m,
                               const std::vector<registry::Reference>& names) {
  std::vector<std::string> tags;
  tags.reserve(names.size());
  for (const auto& n : names) {
    tags.push_back(n.Familiar());
  }
  std::vector<std::string> layers;
  layers.reserve(m.layers.size());
  for (const auto& l : m.layers) {
    layers.push_back(BlobPath(l.digest));
  }
  Json entry = Json::object();
  entry["Config"] = BlobPath(m.config.digest);
  entry["RepoTags"] = ListOrNull(tags);
  entry["Layers"] = ListOrNull(layers);
  return GoJson(Json::array({entry}));
}

std::optional<std::string> RepositoriesJson(const registry::Manifest& m,
                                            const std::vector<registry::Reference>& names) {
  if (m.layers.empty()) {
    return std::nullopt;
  }
  std::string top(m.layers.back().digest.hex());
  std::map<std::string, std::map<std::string, std::string>> repos;
  for (const auto& n : names) {
    if (n.tag.empty()) {
      continue;
    }
    registry::Reference repo = n;
    repo.tag.clear();
    repo.digest = Digest();
    repos[repo.Familiar()][n.tag] = top;
  }
  if (repos.empty()) {
    return std::nullopt;
  }
  Json j = Json::object();
  for (const auto& [repo, tags] : repos) {
    j[repo] = StringMapJson(tags);
  }
  return GoJson(j);
}

}  // namespace kiln::exporter::internal
