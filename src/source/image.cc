#include "source/image.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "snapshot/apply.h"
#include "util/log.h"

namespace kiln::source {

namespace {

constexpr int64_t kMaxManifestBytes = 4 << 20;
constexpr int64_t kMaxConfigBytes = 8 << 20;

// The persistent content root that remembers what a reference resolved to for a platform:
// [root digest, manifest digest, config digest, layer digests...]. It also keeps those blobs
// from content GC, as containerd's image records do.
std::string LocalRootName(const registry::Reference& ref, const registry::Platform& p) {
  return "image/" + ref.String() + "/" + p.String();
}

// Fetches layers [first, n) of an image on a few threads; joined (and cancelled if still
// running) when it goes out of scope. Failures are left for the unpacker's own fetch to report.
class Prefetch {
 public:
  static constexpr size_t kWorkers = 3;
  Prefetch(const Context& ctx, const BlobFetchFn& fetch, content::Store& store,
           const ResolvedImage& img, size_t first)
      : ctx_(ctx.Child()), lease_(store.NewLease("prefetch")), next_(first) {
    const auto& layers = img.manifest.layers;
    size_t n = std::min(kWorkers, layers.size() - std::min(first, layers.size()));
    for (size_t w = 0; w < n; w++) {
      threads_.emplace_back([this, &fetch, &layers] {
        for (size_t i = next_++; i < layers.size() && !ctx_.cancelled(); i = next_++) {
          fetch(ctx_, layers[i], &lease_).IgnoreError();
        }
      });
    }
  }
  ~Prefetch() {
    ctx_.Cancel(Cancelled("unpack finished"));
    for (auto& t : threads_) t.join();
  }
  Prefetch(const Prefetch&) = delete;
  Prefetch& operator=(const Prefetch&) = delete;

 private:
  Context ctx_;
  content::Lease lease_;
  std::atomic<size_t> next_;
  std::vector<std::thread> threads_;
};

}  // namespace

Result<ResolveMode> ParseResolveMode(std::string_view s) {
  if (s.empty() || s == "default") return ResolveMode::kDefault;
  if (s == "pull") return ResolveMode::kPull;
  if (s == "local" || s == "prefer-local") return ResolveMode::kPreferLocal;
  return InvalidArgument(
      fmt::format("invalid image.resolvemode \"{}\" (want default, pull or local)", s));
}

Result<ImageIdentifier> ParseImage(const pb::SourceOp& op, const pb::Platform* platform) {
  constexpr std::string_view kScheme = "docker-image://";
  const std::string& ident = op.identifier();
  if (ident.rfind(kScheme, 0) != 0) {
    return InvalidArgument("source \"" + ident + "\" is not a docker-image:// identifier");
  }
  ImageIdentifier id;
  auto ref = registry::ParseReference(std::string_view(ident).substr(kScheme.size()));
  if (!ref.ok()) return ref.status().Annotate("source \"" + ident + "\"");
  id.ref = std::move(*ref);
  for (const auto& [k, v] : op.attrs()) {
    if (k == "image.resolvemode") {
      auto m = ParseResolveMode(v);
      if (!m.ok()) return m.status().Annotate("source \"" + ident + "\"");
      id.mode = *m;
    }
    // image.recordtype and image.layerlimit need nothing here; other attrs are ignored as
    // BuildKit does.
  }
  if (platform != nullptr && !platform->architecture().empty()) {
    registry::Platform p;
    p.os = platform->os().empty() ? "linux" : platform->os();
    p.architecture = platform->architecture();
    p.variant = platform->variant();
    p.os_version = platform->osversion();
    id.platform = registry::Normalize(std::move(p));
  } else {
    id.platform = registry::HostPlatform();
  }
  return id;
}

std::vector<Digest> ChainIDs(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  for (const auto& d : diff_ids) {
    if (out.empty()) {
      out.push_back(d);
    } else {
      out.push_back(Digest::FromBytes(out.back().str() + " " + d.str()));
    }
  }
  return out;
}

std::unique_ptr<registry::Client> ImageSource::NewClient(
    const registry::CredentialsFn& creds) const {
  registry::ClientOptions o;
  o.hosts = hosts_;
  o.credentials = creds;
  return std::make_unique<registry::Client>(std::move(o));
}

Result<ResolvedImage> ImageSource::FromPulled(const ImageIdentifier& id, registry::PulledImage p) {
  ResolvedImage r;
  r.ref = id.ref;
  r.root_digest = p.root.digest;
  r.manifest_descriptor = std::move(p.manifest_descriptor);
  r.manifest = std::move(p.manifest);
  r.config = std::move(p.config);
  if (r.config.diff_ids.size() != r.manifest.layers.size()) {
    return InvalidArgument(
        fmt::format("{}: the image config lists {} layers (rootfs.diff_ids) but "
                    "the manifest has {}",
                    id.ref.String(), r.config.diff_ids.size(), r.manifest.layers.size()));
  }
  return r;
}

Result<ResolvedImage> ImageSource::ResolveLocal(const Context& ctx, const ImageIdentifier& id) {
  auto roots = store_->Roots();
  auto it = roots.find(LocalRootName(id.ref, id.platform));
  if (it == roots.end() || it->second.size() < 3) return NotFound("not pulled before");
  const auto& d = it->second;
  for (const auto& dg : d) {
    if (!store_->Has(dg) && &dg != &d[0]) return NotFound("blob " + dg.str() + " is gone");
  }
  registry::PulledImage p;
  p.ref = id.ref;
  p.root.digest = d[0];
  KILN_ASSIGN_OR_RETURN(auto mbytes, store_->ReadAll(d[1], kMaxManifestBytes));
  KILN_ASSIGN_OR_RETURN(p.manifest, registry::ParseManifest(mbytes, "", id.ref.String()));
  p.manifest_descriptor.digest = d[1];
  p.manifest_descriptor.size = static_cast<int64_t>(mbytes.size());
  p.manifest_descriptor.media_type = p.manifest.media_type;
  KILN_ASSIGN_OR_RETURN(auto cbytes, store_->ReadAll(d[2], kMaxConfigBytes));
  KILN_ASSIGN_OR_RETURN(p.config, registry::ParseImageConfig(cbytes, id.ref.String()));
  p.layers = p.manifest.layers;
  return FromPulled(id, std::move(p));
}

Result<ResolvedImage> ImageSource::Resolve(const Context& ctx, const ImageIdentifier& id,
                                           const registry::CredentialsFn& creds,
                                           solver::VertexProgress* progress) {
  // A reference pinned by digest needs no registry round trip when we have it; prefer-local
  // takes whatever the reference resolved to last time.
  if (id.mode == ResolveMode::kPreferLocal || !id.ref.digest.empty()) {
    auto local = ResolveLocal(ctx, id);
    if (local.ok()) return local;
  }
  std::string status_id = "resolve " + id.ref.String();
  if (progress) progress->Status(status_id, 0, 0, false);
  auto client = NewClient(creds);
  registry::PullOptions po;
  po.layers = false;
  // Holds the manifests and the config from their fetch until the root below keeps them: a
  // prune in between would otherwise remove a blob just fetched and not yet read.
  content::Lease lease = store_->NewLease("resolve");
  po.lease = &lease;
  auto pulled = client->Pull(ctx, id.ref, id.platform, *store_, po);
  if (progress) progress->Status(status_id, 0, 0, true);
  if (!pulled.ok()) return pulled.status();
  KILN_ASSIGN_OR_RETURN(ResolvedImage r, FromPulled(id, std::move(*pulled)));
  std::vector<Digest> keep = {r.root_digest, r.manifest_descriptor.digest,
                              r.manifest.config.digest};
  for (const auto& l : r.manifest.layers) keep.push_back(l.digest);
  KILN_RETURN_IF_ERROR(store_->AddRoot(LocalRootName(id.ref, id.platform), keep));
  return r;
}

Result<content::GCStats> ImageSource::CollectGarbage(const Context& ctx) {
  for (const auto& [name, digests] : store_->Roots()) {
    if (name.rfind("image/", 0) != 0) continue;
    bool keep = false;
    if (digests.size() >= 3) {
      auto cbytes = store_->ReadAll(digests[2], kMaxConfigBytes);
      auto config = cbytes.ok() ? registry::ParseImageConfig(*cbytes, name)
                                : Result<registry::ImageConfig>(cbytes.status());
      if (config.ok()) {
        auto chains = ChainIDs(config->diff_ids);
        if (chains.empty()) {
          keep = true;  // nothing to unpack: the record costs two small blobs
        } else {
          auto ref = cache_->GetByChainID(chains.back().str());
          keep = ref.ok() && ref->has_value();
        }
      }
    }
    if (!keep) KILN_RETURN_IF_ERROR(store_->RemoveRoot(name));
  }
  return store_->GC(ctx);
}

Result<cache::ImmutableRef> ImageSource::UnpackLayer(const Context& ctx, const BlobFetchFn& fetch,
                                                     const ResolvedImage& img, size_t i,
                                                     const Digest& chain,
                                                     const cache::ImmutableRef* parent,
                                                     solver::VertexProgress* progress) {
  KILN_ASSIGN_OR_RETURN(auto guard, unpacking_.Lock(ctx, chain.str()));
  KILN_ASSIGN_OR_RETURN(auto have, cache_->GetByChainID(chain.str()));
  if (have) return std::move(*have);  // unpacked by an earlier or concurrent build

  const registry::Descriptor& layer = img.manifest.layers[i];
  content::Lease lease = store_->NewLease("unpack");
  std::string sid = layer.digest.str();
  if (progress) progress->Status(sid, 0, layer.size, false);
  KILN_RETURN_IF_ERROR(fetch(ctx, layer, &lease));
  if (progress) progress->Status(sid, layer.size, layer.size, true);

  std::string desc = fmt::format("pulled from {} (layer {} of {})", img.ref.String(), i + 1,
                                 img.manifest.layers.size());
  KILN_ASSIGN_OR_RETURN(cache::MutableRef mut, cache_->New(ctx, parent, desc));
  mut.SetChainID(chain.str());
  mut.SetRecordType("image.layer");

  std::string blob = store_->Path(layer.digest);
  int fd = open(blob.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open layer " + layer.digest.str());
  std::string xid = "extracting " + layer.digest.str();
  if (progress) progress->Status(xid, 0, 0, false);
  // The config's diff ID is checked against the layer's uncompressed bytes: the chain ID this
  // ref is keyed by (and shared under with other images) comes from the config, and the
  // registry only vouched for the compressed blob. On a mismatch `mut` is discarded uncommitted.
  auto applied = snapshot::ApplyLayerToSnapshot(ctx, *cache_->snapshotter(), mut.snapshot_key(),
                                                snapshot::FdSource(fd), img.config.diff_ids[i]);
  close(fd);
  if (progress) progress->Status(xid, 0, 0, true);
  if (!applied.ok()) {
    return applied.status().Annotate(
        fmt::format("{}: layer {}", img.ref.String(), layer.digest.str()));
  }
  KILN_ASSIGN_OR_RETURN(cache::ImmutableRef ref, mut.Commit());
  // The pulled blob is this ref's layer: image exports reuse it instead of diffing again.
  Status recorded = cache_->SetBlob(
      ref.id(), cache::BlobRecord{std::string(cache::kPulledBlobVariant), layer.media_type,
                                  layer.digest.str(), layer.size, img.config.diff_ids[i].str(), -1,
                                  img.from_registry ? img.ref.Name() : ""});
  if (!recorded.ok()) log::Warn("recording the blob of ref {}: {}", ref.id(), recorded.message());
  log::Info("unpacked layer {} of {} ({} entries, {} bytes) as ref {}", layer.digest.str(),
            img.ref.String(), applied->entries, applied->bytes, ref.id());
  return ref;
}

Result<cache::ImmutableRef> ImageSource::Unpack(const Context& ctx, const ResolvedImage& img,
                                                const registry::CredentialsFn& creds,
                                                solver::VertexProgress* progress) {
  auto client = NewClient(creds);
  BlobFetchFn fetch = [&](const Context& c, const registry::Descriptor& d, content::Lease* lease) {
    return client->FetchBlob(c, img.ref, d, *store_, lease).status();
  };
  return UnpackWith(ctx, img, fetch, progress);
}

Result<cache::ImmutableRef> ImageSource::UnpackWith(const Context& ctx, const ResolvedImage& img,
                                                    const BlobFetchFn& fetch,
                                                    solver::VertexProgress* progress) {
  std::vector<Digest> chains = ChainIDs(img.config.diff_ids);
  // Download the layers not unpacked yet in parallel, ahead of the unpacking below (which waits
  // for a blob still on its way through the store's fetch-once Ensure).
  size_t first_missing = chains.size();
  for (size_t i = chains.size(); i-- > 0;) {
    KILN_ASSIGN_OR_RETURN(auto have, cache_->GetByChainID(chains[i].str()));
    if (have) break;
    first_missing = i;
  }
  Prefetch prefetch(ctx, fetch, *store_, img, first_missing);
  cache::ImmutableRef top;
  for (size_t i = 0; i < chains.size(); i++) {
    KILN_ASSIGN_OR_RETURN(auto have, cache_->GetByChainID(chains[i].str()));
    if (have) {
      top = std::move(*have);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(
        top, UnpackLayer(ctx, fetch, img, i, chains[i], top.valid() ? &top : nullptr, progress));
  }
  if (!top.valid()) {  // no layers: an empty root filesystem
    KILN_ASSIGN_OR_RETURN(cache::MutableRef empty,
                          cache_->New(ctx, nullptr, "empty image " + img.ref.String()));
    return empty.Commit();
  }
  return top;
}

}  // namespace kiln::source
