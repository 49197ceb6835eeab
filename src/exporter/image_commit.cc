#include "exporter/image_commit.h"

#include <map>
#include <nlohmann/json.hpp>

#include "util/rfc3339.h"

namespace kiln::exporter {

namespace {

using ojson = nlohmann::ordered_json;
constexpr int64_t kNsPerSec = 1000000000;

// One history entry with its fields in the order Go's ocispecs.History writes them; fields of
// other names are kept after them.
struct History {
  std::optional<int64_t> created;  // unix ns
  ojson rest = ojson::object();    // created_by, author, comment, others; empty_layer apart
  bool empty_layer = false;

  ojson ToJson() const {
    ojson j = ojson::object();
    if (created) j["created"] = FormatRFC3339Nano(*created);
    for (const char* k : {"created_by", "author", "comment"}) {
      if (rest.contains(k)) j[k] = rest[k];
    }
    for (auto it = rest.begin(); it != rest.end(); ++it) {
      if (!j.contains(it.key())) j[it.key()] = it.value();
    }
    if (empty_layer) j["empty_layer"] = true;
    return j;
  }
};

Result<std::vector<History>> ParseHistory(const ojson& config) {
  std::vector<History> out;
  if (!config.contains("history") || config["history"].is_null()) return out;
  const ojson& h = config["history"];
  if (!h.is_array())
    return InvalidArgument("invalid image config for export: history is not a list");
  for (size_t i = 0; i < h.size(); i++) {
    const ojson& e = h[i];
    if (!e.is_object()) {
      return InvalidArgument("invalid image config for export: history entry " + std::to_string(i) +
                             " is not an object");
    }
    History x;
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (it.key() == "created") {
        if (it.value().is_null()) continue;
        if (!it.value().is_string()) {
          return InvalidArgument("invalid image config for export: history entry " +
                                 std::to_string(i) + ": created is not a string");
        }
        auto t = ParseRFC3339(it.value().get<std::string>());
        if (!t.ok()) {
          return t.status().Annotate("invalid image config for export: history entry " +
                                     std::to_string(i));
        }
        x.created = *t;
      } else if (it.key() == "empty_layer") {
        x.empty_layer = it.value().is_boolean() && it.value().get<bool>();
      } else {
        x.rest[it.key()] = it.value();
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

// BuildKit's normalizeLayersAndHistory: one non-empty entry per layer, and times everywhere.
void NormalizeHistory(std::vector<History>& history, const std::vector<ChainLayer>& layers) {
  size_t with_layer = 0;
  for (const auto& h : history) with_layer += h.empty_layer ? 0 : 1;
  if (with_layer > layers.size()) {
    // More entries than layers: the later ones become empty.
    size_t l = 0;
    for (auto& h : history) {
      if (l >= layers.size()) h.empty_layer = true;
      if (!h.empty_layer) l++;
    }
    with_layer = layers.size();
  }
  for (size_t i = with_layer; i < layers.size(); i++) {
    History h;
    h.created = layers[i].created_at;
    h.rest["created_by"] =
        layers[i].description.empty() ? "created by kiln" : layers[i].description;
    h.rest["comment"] = "buildkit.exporter.image.v0";
    history.push_back(std::move(h));
  }
  size_t layer = 0;
  for (auto& h : history) {
    if (h.empty_layer) continue;
    if (!h.created && layer < layers.size()) h.created = layers[layer].created_at;
    layer++;
  }
  // Entries still without a time take the first new time, then the one before them.
  std::optional<int64_t> created;
  bool gap = false;
  for (const auto& h : history) {
    if (h.created) {
      created = h.created;
      if (gap) break;
    } else {
      gap = true;
    }
  }
  gap = false;
  for (auto& h : history) {
    if (h.created) {
      if (gap) created = h.created;
    } else {
      gap = true;
      h.created = created;
    }
  }
}

}  // namespace

std::string DefaultImageConfig() {
  ojson j = ojson::object();
  j["architecture"] = "amd64";
  j["config"] = {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
                 {"WorkingDir", "/"}};
  j["os"] = "linux";
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", nullptr}};
  return j.dump();
}

Result<std::string> PatchImageConfig(const std::string& config_json,
                                     const std::vector<ChainLayer>& layers,
                                     std::optional<int64_t> epoch) {
  ojson in = ojson::parse(config_json.empty() ? DefaultImageConfig() : config_json, nullptr,
                          /*allow_exceptions=*/false);
  if (in.is_discarded()) return InvalidArgument("invalid image config for export: not JSON");
  if (!in.is_object()) return InvalidArgument("invalid null image config for export");
  auto str = [&](const char* k) {
    return in.contains(k) && in[k].is_string() ? in[k].get<std::string>() : std::string();
  };
  if (str("os").empty()) return InvalidArgument("invalid image config for export: missing os");
  if (str("architecture").empty()) {
    return InvalidArgument("invalid image config for export: missing architecture");
  }
  KILN_ASSIGN_OR_RETURN(auto history, ParseHistory(in));
  NormalizeHistory(history, layers);

  std::optional<int64_t> epoch_ns;
  if (epoch) epoch_ns = *epoch * kNsPerSec;
  if (epoch_ns) {
    for (auto& h : history) {
      if (!h.created || *h.created > *epoch_ns) h.created = epoch_ns;
    }
  }

  // Top-level keys in byte order, as Go marshals a map; the values as the frontend wrote them.
  std::map<std::string, ojson> top;
  for (auto it = in.begin(); it != in.end(); ++it) top[it.key()] = it.value();
  ojson rootfs = ojson::object();
  rootfs["type"] = "layers";
  rootfs["diff_ids"] = ojson::array();
  for (const auto& l : layers) rootfs["diff_ids"].push_back(l.blob.diff_id.str());
  top["rootfs"] = std::move(rootfs);
  ojson hist = ojson::array();
  for (const auto& h : history) hist.push_back(h.ToJson());
  top["history"] = std::move(hist);

  auto created = top.find("created");
  if (created != top.end() && epoch_ns) {
    if (!created->second.is_string()) {
      return InvalidArgument("invalid image config for export: created is not a string");
    }
    auto t = ParseRFC3339(created->second.get<std::string>());
    if (!t.ok()) return t.status().Annotate("invalid image config for export");
    if (*t > *epoch_ns) created->second = FormatRFC3339Nano(*epoch_ns);
  }
  if (created == top.end()) {
    std::optional<int64_t> last;
    for (const auto& h : history) {
      if (h.created) last = h.created;
    }
    top["created"] = last ? ojson(FormatRFC3339Nano(*last)) : ojson(nullptr);
  }
  ojson out = ojson::object();
  for (auto& [k, v] : top) out[k] = std::move(v);
  return out.dump();
}

Result<CommittedImage> CommitImage(const Context& ctx, cache::Manager& cache, content::Store& store,
                                   const cache::ImmutableRef& ref, const std::string& config_json,
                                   const ImageCommitOptions& opts, content::Lease* lease,
                                   solver::VertexProgress* progress) {
  const bool oci = opts.layers.oci_mediatypes.value_or(false);
  CommittedImage img;
  if (progress) progress->Status("exporting layers", 0, 0, false);
  KILN_ASSIGN_OR_RETURN(img.layers,
                        ExportLayerChain(ctx, cache, store, ref, opts.layers, lease, progress));
  if (progress) progress->Status("exporting layers", 0, 0, true);
  KILN_ASSIGN_OR_RETURN(img.config_json, PatchImageConfig(config_json, img.layers, opts.epoch));

  img.config.media_type =
      std::string(oci ? registry::media_types::kOCIConfig : registry::media_types::kDockerConfig);
  img.config.digest = Digest::FromBytes(img.config_json);
  img.config.size = static_cast<int64_t>(img.config_json.size());

  ojson m = ojson::object();
  m["schemaVersion"] = 2;
  m["mediaType"] =
      oci ? registry::media_types::kOCIManifest : registry::media_types::kDockerManifest;
  m["config"] = {{"mediaType", img.config.media_type},
                 {"digest", img.config.digest.str()},
                 {"size", img.config.size}};
  m["layers"] = ojson::array();
  for (const auto& l : img.layers) {
    m["layers"].push_back(
        {{"mediaType", l.blob.media_type}, {"digest", l.blob.digest.str()}, {"size", l.blob.size}});
  }
  if (oci && !opts.manifest_annotations.empty()) {
    ojson a = ojson::object();
    std::map<std::string, std::string> sorted(opts.manifest_annotations.begin(),
                                              opts.manifest_annotations.end());
    for (const auto& [k, v] : sorted) a[k] = v;
    m["annotations"] = std::move(a);
  }
  img.manifest_json = m.dump(2);
  img.manifest.media_type = m["mediaType"].get<std::string>();
  img.manifest.digest = Digest::FromBytes(img.manifest_json);
  img.manifest.size = static_cast<int64_t>(img.manifest_json.size());

  std::string cid = "exporting config " + img.config.digest.str();
  if (progress) progress->Status(cid, 0, 0, false);
  auto written = store.WriteBlob(ctx, img.config_json, img.config.digest, lease);
  KILN_RETURN_IF_ERROR(written.status());
  if (progress) progress->Status(cid, 0, 0, true);
  std::string mid = "exporting manifest " + img.manifest.digest.str();
  if (progress) progress->Status(mid, 0, 0, false);
  auto manifest_written = store.WriteBlob(ctx, img.manifest_json, img.manifest.digest, lease);
  KILN_RETURN_IF_ERROR(manifest_written.status());
  if (progress) progress->Status(mid, 0, 0, true);
  return img;
}

}  // namespace kiln::exporter
