#include "exporter/image_index.h"

#include <nlohmann/json.hpp>

#include "exporter/layout_json.h"
#include "util/digest.h"

namespace kiln::exporter {

namespace {

constexpr char kOCIIndex[] = "application/vnd.oci.image.index.v1+json";
constexpr char kDockerManifestList[] = "application/vnd.docker.distribution.manifest.list.v2+json";

}  // namespace

std::string IndexJson(const std::vector<registry::Descriptor>& manifests, bool oci_mediatypes,
                      const std::map<std::string, std::string>& annotations) {
  const char* media_type = oci_mediatypes ? kOCIIndex : kDockerManifestList;
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& d : manifests) list.push_back(internal::DescriptorJson(d));
  j["manifests"] = std::move(list);
  if (!annotations.empty()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::object();
    for (const auto& [k, v] : annotations) a[k] = v;  // sorted, as Go marshals a map
    j["annotations"] = std::move(a);
  }
  return j.dump(2);
}

Result<CommittedIndex> CommitIndex(const Context& ctx, content::Store& store,
                                   const std::vector<registry::Descriptor>& manifests,
                                   bool oci_mediatypes, content::Lease* lease,
                                   const std::map<std::string, std::string>& annotations) {
  CommittedIndex out;
  out.json = IndexJson(manifests, oci_mediatypes, annotations);
  out.index.media_type = oci_mediatypes ? kOCIIndex : kDockerManifestList;
  out.index.digest = Digest::FromBytes(out.json);
  out.index.size = static_cast<int64_t>(out.json.size());
  auto written = store.WriteBlob(ctx, out.json, out.index.digest, lease);
  if (!written.ok()) return written.status().Annotate("write image index");
  return out;
}

}  // namespace kiln::exporter
