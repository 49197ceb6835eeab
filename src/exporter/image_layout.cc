#include "exporter/image_layout.h"

#include <algorithm>
#include <map>
#include <optional>

#include "exporter/layout_json.h"
#include "registry/reference.h"

namespace kiln::exporter::internal {

namespace {

constexpr int64_t kMaxManifestBytes = 4 << 20;

// Depth-first from the root as containerd's images.Walk with ChildrenHandler: a manifest's
// config and layers, an index's manifests (nested indexes too); other blobs are leaves. A blob
// reached twice is visited once; errors name the first path that reached it.
class Walker {
 public:
  Walker(const Context& ctx, const content::Store& store) : ctx_(ctx), store_(store) {}

  Status Visit(const registry::Descriptor& d, const std::string& referrer) {
    if (blobs_.contains(d.digest)) {
      return Status::Ok();
    }
    KILN_RETURN_IF_ERROR(ctx_.Err());
    std::string what = "blob " + d.digest.str() + " (" + referrer + ")";
    auto info = store_.Stat(d.digest);
    if (!info.ok()) {
      if (info.status().code() == Code::kNotFound) {
        return NotFound(what + " is not in the content store");
      }
      return info.status().Annotate(what);
    }
    if (info->size != d.size) {
      return DataLoss(what + " has " + std::to_string(info->size) +
                      " bytes in the content store, its descriptor says " + std::to_string(d.size));
    }
    blobs_.emplace(d.digest, LayoutBlob{d, referrer});
    if (registry::IsManifestType(d.media_type)) {
      return VisitManifest(d, what);
    }
    if (registry::IsIndexType(d.media_type)) {
      return VisitIndex(d, what);
    }
    return Status::Ok();
  }

  std::map<Digest, LayoutBlob>& blobs() { return blobs_; }
  const std::map<Digest, registry::Manifest>& manifests() const { return manifests_; }
  const std::optional<registry::Index>& first_index() const { return first_index_; }

 private:
  Status VisitManifest(const registry::Descriptor& d, const std::string& what) {
    KILN_ASSIGN_OR_RETURN(std::string bytes, store_.ReadAll(d.digest, kMaxManifestBytes));
    KILN_ASSIGN_OR_RETURN(registry::Manifest m, registry::ParseManifest(bytes, d.media_type, what));
    std::string of = " of manifest " + d.digest.str();
    KILN_RETURN_IF_ERROR(Visit(m.config, "config" + of));
    for (size_t i = 0; i < m.layers.size(); i++) {
      KILN_RETURN_IF_ERROR(Visit(m.layers[i], "layer " + std::to_string(i + 1) + of));
    }
    manifests_.emplace(d.digest, std::move(m));
    return Status::Ok();
  }

  Status VisitIndex(const registry::Descriptor& d, const std::string& what) {
    KILN_ASSIGN_OR_RETURN(std::string bytes, store_.ReadAll(d.digest, kMaxManifestBytes));
    KILN_ASSIGN_OR_RETURN(registry::Index idx, registry::ParseIndex(bytes, d.media_type, what));
    for (size_t i = 0; i < idx.manifests.size(); i++) {
      KILN_RETURN_IF_ERROR(Visit(
          idx.manifests[i], "manifest " + std::to_string(i + 1) + " of index " + d.digest.str()));
    }
    if (!first_index_) {
      first_index_ = std::move(idx);
    }
    return Status::Ok();
  }

  const Context& ctx_;
  const content::Store& store_;
  std::map<Digest, LayoutBlob> blobs_;
  std::map<Digest, registry::Manifest> manifests_;
  std::optional<registry::Index> first_index_;  // the root's, when the root is an index
};

// The image whose config and layers manifest.json lists (docker format): the root manifest, or
// for an index the manifest chosen for opts.platform; nullopt when there is none.
Result<std::optional<registry::Descriptor>> DockerImage(const Walker& w,
                                                        const registry::Descriptor& root,
                                                        const ArchiveOptions& opts) {
  if (registry::IsManifestType(root.media_type)) {
    return std::optional(root);
  }
  if (!opts.platform) {
    return std::optional<registry::Descriptor>();
  }
  KILN_ASSIGN_OR_RETURN(
      registry::Descriptor d,
      registry::SelectManifest(*w.first_index(), *opts.platform, "index " + root.digest.str()));
  if (!registry::IsManifestType(d.media_type)) {
    return InvalidArgument("index " + root.digest.str() + ": the entry for platform " +
                           opts.platform->String() + " is not an image manifest but " +
                           d.media_type);
  }
  return std::optional(d);
}

}  // namespace

std::string BlobPath(const Digest& d) { return "blobs/sha256/" + std::string(d.hex()); }

Result<ImageLayout> PlanImageLayout(const Context& ctx, const content::Store& store,
                                    const registry::Descriptor& root, const ArchiveOptions& opts) {
  if (!registry::IsManifestType(root.media_type) && !registry::IsIndexType(root.media_type)) {
    return InvalidArgument("only image manifests and indexes can be exported, not \"" +
                           root.media_type + "\" (" + root.digest.str() + ")");
  }
  std::vector<registry::Reference> names;
  for (const auto& n : opts.names) {
    KILN_ASSIGN_OR_RETURN(registry::Reference r, registry::ParseReference(n));
    names.push_back(std::move(r));
  }

  Walker w(ctx, store);
  KILN_RETURN_IF_ERROR(w.Visit(root, "the image's root"));

  ImageLayout layout;
  for (auto& [digest, blob] : w.blobs()) {
    layout.blobs.push_back(std::move(blob));
  }
  layout.files.push_back({"oci-layout", OCILayoutJson(), kBlobMode});
  layout.files.push_back({"index.json", IndexJson(root, names), 0644});
  if (opts.format == ArchiveFormat::kDocker) {
    KILN_ASSIGN_OR_RETURN(std::optional<registry::Descriptor> image, DockerImage(w, root, opts));
    if (image) {
      const registry::Manifest& m = w.manifests().at(image->digest);
      layout.files.push_back({"manifest.json", DockerManifestJson(m, names), 0644});
      if (std::optional<std::string> repos = RepositoriesJson(m, names)) {
        layout.files.push_back({"repositories", std::move(*repos), 0644});
      }
    }
  }
  std::sort(layout.files.begin(), layout.files.end(),
            [](const LayoutFile& a, const LayoutFile& b) { return a.name < b.name; });
  return layout;
}

}  // namespace kiln::exporter::internal
