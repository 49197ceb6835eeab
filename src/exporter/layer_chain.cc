#include "exporter/layer_chain.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "util/log.h"

namespace kiln::exporter {

namespace {

// How many layers are diffed and compressed at once (each with its own compression threads):
// small layers are bound by the tree walk, which is single-threaded.
constexpr size_t kParallelLayers = 3;

std::optional<layer::Compression> CompressionOf(std::string_view media_type) {
  auto ends = [&](std::string_view s) {
    return media_type.size() >= s.size() && media_type.substr(media_type.size() - s.size()) == s;
  };
  bool layer = media_type.find(".layer.") != std::string_view::npos ||
               media_type.find(".rootfs.") != std::string_view::npos;
  if (!layer) return std::nullopt;
  if (ends("+gzip") || ends(".gzip")) return layer::Compression::kGzip;
  if (ends("+zstd") || ends(".zstd")) return layer::Compression::kZstd;
  if (ends(".tar")) return layer::Compression::kUncompressed;
  return std::nullopt;
}

bool Foreign(std::string_view media_type) {
  return media_type.find("foreign") != std::string_view::npos ||
         media_type.find("nondistributable") != std::string_view::npos;
}

// The part of a variant name after the compression and level: how times were treated.
std::string EpochPart(std::string_view variant) {
  auto i = variant.find(";epoch=");
  return i == std::string_view::npos ? std::string() : std::string(variant.substr(i));
}

Result<ChainLayer> FromRecord(const cache::ImmutableRef& ref, const cache::BlobRecord& b,
                              bool oci) {
  ChainLayer l;
  l.blob.media_type = ConvertLayerMediaType(b.media_type, oci);
  KILN_ASSIGN_OR_RETURN(l.blob.digest, Digest::Parse(b.digest));
  l.blob.size = b.size;
  KILN_ASSIGN_OR_RETURN(l.blob.diff_id, Digest::Parse(b.diff_id));
  l.blob.uncompressed_size = b.uncompressed_size;
  l.ref_id = ref.id();
  l.description = ref.record().description;
  l.created_at = ref.record().created_at;
  l.reused = true;
  l.variant = b.variant;
  l.source = b.source;
  return l;
}

// A blob recorded for `ref` that an export with `opts` may use, added to the lease; nullopt
// when there is none (or its bytes were collected).
Result<std::optional<ChainLayer>> Reusable(cache::Manager& cache, content::Store& store,
                                           const cache::ImmutableRef& ref,
                                           const layer::LayerOptions& opts, bool oci,
                                           content::Lease* lease) {
  KILN_ASSIGN_OR_RETURN(auto blobs, cache.Blobs(ref.id()));
  const std::string want = BlobVariant(opts);
  auto usable = [&](const cache::BlobRecord& b) {
    if (b.variant == want) return true;
    auto comp = CompressionOf(b.media_type);
    if (!comp) return Foreign(b.media_type) && b.variant == cache::kPulledBlobVariant;
    bool same = *comp == opts.compression;
    // Base image layers are never rewritten (BuildKit keeps their bytes and times).
    if (b.variant == cache::kPulledBlobVariant) return !opts.force_compression || same;
    if (EpochPart(b.variant) != EpochPart(want)) return false;
    return !opts.force_compression || (same && !opts.compression_level);
  };
  // The exact variant first, then the pulled blob, then any other.
  std::stable_sort(blobs.begin(), blobs.end(), [&](const auto& a, const auto& b) {
    auto rank = [&](const cache::BlobRecord& r) {
      return r.variant == want ? 0 : r.variant == cache::kPulledBlobVariant ? 1 : 2;
    };
    return rank(a) < rank(b);
  });
  for (const auto& b : blobs) {
    if (!usable(b)) continue;
    auto d = Digest::Parse(b.digest);
    if (!d.ok()) continue;      // a damaged row: make the layer again
    if (lease) lease->Add(*d);  // before looking, so GC cannot take it after
    if (!store.Has(*d)) continue;
    auto l = FromRecord(ref, b, oci);
    if (l.ok()) return std::optional<ChainLayer>(std::move(*l));
  }
  return std::optional<ChainLayer>();
}

}  // namespace

std::string BlobVariant(const layer::LayerOptions& opts) {
  std::string v(layer::CompressionName(opts.compression));
  if (opts.compression_level) v += ";level=" + std::to_string(*opts.compression_level);
  if (opts.rewrite_timestamp && opts.source_date_epoch) {
    v += ";epoch=" + std::to_string(*opts.source_date_epoch);
  }
  return v;
}

Status RecordBlobSource(cache::Manager& cache, const ChainLayer& layer,
                        const std::string& repository) {
  if (layer.variant.empty() || layer.variant == cache::kPulledBlobVariant) return Status::Ok();
  return cache.SetBlob(
      layer.ref_id, cache::BlobRecord{layer.variant, layer.blob.media_type, layer.blob.digest.str(),
                                      layer.blob.size, layer.blob.diff_id.str(),
                                      layer.blob.uncompressed_size, repository});
}

std::string ConvertLayerMediaType(const std::string& media_type, bool oci) {
  if (Foreign(media_type)) return media_type;
  auto comp = CompressionOf(media_type);
  if (!comp) return media_type;
  return layer::LayerMediaType(*comp, oci);
}

namespace {

// One layer to write: the diff of `ref`'s snapshot against `parent_snapshot` ("" for none).
struct Link {
  cache::ImmutableRef ref;
  std::string parent_snapshot;
};

// A merge result whose inputs are all still there (and none is a diff result, whose deletions a
// layer cannot carry yet) stands for its inputs' layers, in merge order, as BuildKit exports a
// merge; otherwise nullopt, and the result is one layer over its parent like any other ref.
Result<std::optional<std::vector<cache::ImmutableRef>>> MergeInputs(cache::Manager& cache,
                                                                    const cache::ImmutableRef& r) {
  using None = std::optional<std::vector<cache::ImmutableRef>>;
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> v, cache.Value(r.id(), cache::kMergeInputsKey));
  if (!v) return None();
  auto ids = nlohmann::json::parse(*v, nullptr, false);
  if (!ids.is_array() || ids.empty()) return None();
  std::vector<cache::ImmutableRef> inputs;
  for (const auto& id : ids) {
    if (!id.is_string()) return None();
    auto in = cache.Get(id.get<std::string>());
    if (!in.ok() || !in->record().whiteouts.empty()) return None();
    inputs.push_back(std::move(*in));
  }
  return None(std::move(inputs));
}

// The layers of `ref`, base first: its parent chain, with merge results expanded into their
// inputs' chains (iteratively: chains can be thousands of refs long).
Result<std::vector<Link>> LayerLinks(cache::Manager& cache, const cache::ImmutableRef& ref) {
  std::vector<Link> out;
  // Work items, last first: a ref still to expand, or a ref whose layer goes out next.
  struct Item {
    cache::ImmutableRef ref;
    bool expanded = false;
  };
  std::vector<Item> todo;
  if (ref.valid()) todo.push_back({ref, false});
  size_t steps = 0;
  while (!todo.empty()) {
    if (++steps > 100000) return Internal("cache: ref " + ref.id() + " has a parent cycle");
    Item it = std::move(todo.back());
    todo.pop_back();
    const cache::RefRecord& rec = it.ref.record();
    if (it.expanded) {
      std::string parent_snapshot;
      if (!rec.parent.empty()) {
        KILN_ASSIGN_OR_RETURN(cache::ImmutableRef parent, cache.Get(rec.parent));
        parent_snapshot = parent.record().snapshot;
      }
      out.push_back(Link{it.ref, parent_snapshot});
      continue;
    }
    KILN_ASSIGN_OR_RETURN(auto inputs, MergeInputs(cache, it.ref));
    if (inputs) {
      for (auto in = inputs->rbegin(); in != inputs->rend(); ++in) todo.push_back({*in, false});
      continue;
    }
    todo.push_back({it.ref, true});
    if (!rec.parent.empty()) {
      KILN_ASSIGN_OR_RETURN(cache::ImmutableRef parent, cache.Get(rec.parent));
      todo.push_back({std::move(parent), false});
    }
  }
  return out;
}

}  // namespace

Result<std::vector<ChainLayer>> ExportLayerChain(const Context& ctx, cache::Manager& cache,
                                                 content::Store& store,
                                                 const cache::ImmutableRef& ref,
                                                 const layer::LayerOptions& opts,
                                                 content::Lease* lease,
                                                 solver::VertexProgress* progress) {
  const bool oci = opts.oci_mediatypes.value_or(false);
  KILN_ASSIGN_OR_RETURN(std::vector<Link> chain, LayerLinks(cache, ref));

  std::vector<std::optional<ChainLayer>> out(chain.size());
  std::vector<size_t> missing;
  for (size_t i = 0; i < chain.size(); i++) {
    KILN_ASSIGN_OR_RETURN(out[i], Reusable(cache, store, chain[i].ref, opts, oci, lease));
    if (out[i]) {
      if (progress) progress->Status("reusing layer " + out[i]->blob.digest.str(), 0, 0, true);
    } else {
      missing.push_back(i);
    }
  }

  // Diff and compress the missing layers, a few at a time; the first error stops the rest.
  Context work = ctx.Child();
  std::mutex mu;
  Status first;
  std::atomic<size_t> next{0};
  auto run = [&] {
    while (true) {
      size_t k = next.fetch_add(1);
      if (k >= missing.size() || work.cancelled()) return;
      size_t i = missing[k];
      const cache::ImmutableRef& r = chain[i].ref;
      const std::string& parent_snapshot = chain[i].parent_snapshot;
      std::string sid = "exporting layer " + std::to_string(i + 1) + " of " +
                        std::to_string(chain.size()) + " (" + r.id() + ")";
      if (progress) progress->Status(sid, 0, 0, false);
      auto made = layer::ExportLayer(work, *cache.snapshotter(), r.record().snapshot,
                                     parent_snapshot, store, opts, lease);
      Status s = made.status();
      if (made.ok()) {
        s = cache.SetBlob(
            r.id(),
            cache::BlobRecord{BlobVariant(opts), made->media_type, made->digest.str(), made->size,
                              made->diff_id.str(), made->uncompressed_size, ""});
      }
      if (progress) progress->Status(sid, made.ok() ? made->size : 0, 0, true);
      std::lock_guard<std::mutex> l(mu);
      if (!s.ok()) {
        if (first.ok()) first = s.Annotate("exporting the layer of ref " + r.id());
        work.Cancel(first);
        return;
      }
      ChainLayer c;
      c.blob = *made;
      c.ref_id = r.id();
      c.variant = BlobVariant(opts);
      c.description = r.record().description;
      c.created_at = r.record().created_at;
      out[i] = std::move(c);
    }
  };
  size_t n = std::min(missing.size(), kParallelLayers);
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; t++) threads.emplace_back(run);
  if (n > 0) run();
  for (auto& t : threads) t.join();
  if (ctx.cancelled()) return ctx.Err();
  if (!first.ok()) return first;

  std::vector<ChainLayer> layers;
  layers.reserve(out.size());
  for (auto& l : out) layers.push_back(std::move(*l));
  return layers;
}

}  // namespace kiln::exporter
