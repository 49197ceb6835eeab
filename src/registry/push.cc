// Client::PushManifest and Client::Push: manifests, and whole images and indexes from the
// content store, every blob before the manifests, children before their index, the root last.
#include <mutex>
#include <set>
#include <utility>

#include "registry/client.h"
#include "registry/errors.h"
#include "registry/parallel.h"

namespace kiln::registry {

namespace {

constexpr int kMaxIndexDepth = 4;

// What a push sends: blobs, then manifests and indexes in this order (children first).
struct Plan {
  std::vector<Descriptor> blobs;
  std::vector<std::pair<Descriptor, std::string>> manifests;  // with their bytes
  std::set<Digest> seen;
  int foreign = 0;
};

void AddBlob(const Descriptor& d, Plan* plan) {
  if (!plan->seen.insert(d.digest).second) return;
  if (IsNonDistributable(d.media_type)) {
    plan->foreign++;
    return;
  }
  plan->blobs.push_back(d);
}

// Adds the manifest or index `desc` from the store, and all it points to, to the plan.
Status AddManifest(const content::Store& store, Descriptor desc, const std::string& image,
                   int64_t max_bytes, int depth, Plan* plan) {
  if (!plan->seen.insert(desc.digest).second) return Status::Ok();
  const std::string what = "manifest " + desc.digest.str();
  Result<std::string> bytes = store.ReadAll(desc.digest, max_bytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return NotFound(image + ": " + what + ": not in the content store");
    }
    return bytes.status().Annotate(image + ": " + what);
  }
  KILN_ASSIGN_OR_RETURN(desc.media_type, DetectManifestType(*bytes, desc.media_type, image));
  if (IsIndexType(desc.media_type)) {
    if (depth >= kMaxIndexDepth) return InvalidArgument(image + ": indexes nested too deeply");
    KILN_ASSIGN_OR_RETURN(Index index, ParseIndex(*bytes, desc.media_type, image));
    for (const Descriptor& child : index.manifests) {
      if (child.media_type.empty() || IsIndexType(child.media_type) ||
          IsManifestType(child.media_type)) {
        KILN_RETURN_IF_ERROR(AddManifest(store, child, image, max_bytes, depth + 1, plan));
      } else {
        AddBlob(child, plan);  // an artifact that is not a manifest
      }
    }
  } else {
    KILN_ASSIGN_OR_RETURN(Manifest m, ParseManifest(*bytes, desc.media_type, image));
    AddBlob(m.config, plan);
    for (const Descriptor& l : m.layers) AddBlob(l, plan);
  }
  plan->manifests.emplace_back(std::move(desc), std::move(*bytes));
  return Status::Ok();
}

}  // namespace

bool IsNonDistributable(std::string_view media_type) {
  return media_type.starts_with("application/vnd.oci.image.layer.nondistributable.") ||
         media_type.starts_with("application/vnd.docker.image.rootfs.foreign.");
}

Status Client::PushManifest(const Context& ctx, const Reference& ref, const Descriptor& desc,
                            const std::string& bytes) {
  const std::string image = ref.String();
  const std::string what = "manifest " + desc.digest.str();
  if (Digest actual = Digest::FromBytes(bytes); actual != desc.digest) {
    return InvalidArgument(image + ": " + what + ": the bytes to push have digest " + actual.str());
  }
  if (!ref.digest.empty() && ref.digest != desc.digest) {
    return InvalidArgument(image + ": " + what + ": the reference names another digest");
  }
  if (desc.media_type.empty()) return InvalidArgument(image + ": " + what + ": no media type");
  const Endpoint ep = opts_.hosts.PushEndpoints(ref.domain).front();
  HttpRequest req;
  req.method = "PUT";
  req.url = ep.BaseURL() + "/" + ref.path + "/manifests/" +
            (ref.tag.empty() ? desc.digest.str() : ref.tag);
  req.headers.emplace_back("Content-Type", desc.media_type);
  req.body = bytes;
  Result<Sent> sent = Send(ctx, ep, RepositoryScope(ref.path, true), std::move(req), nullptr);
  if (!sent.ok()) return sent.status().Annotate(image + ": " + what);
  const HttpResponse& r = sent->response;
  if (r.status < 200 || r.status >= 300) {
    return ResponseError(r, image, ref.Name(), what, ep.host, sent->attempts, "push");
  }
  std::string stored = r.Header("docker-content-digest");
  if (!stored.empty() && stored != desc.digest.str()) {
    return DataLoss(image + ": " + what + ": " + ep.host + " stored it as " + stored);
  }
  return Status::Ok();
}

Result<PushResult> Client::Push(const Context& ctx, const Reference& ref, const Descriptor& root,
                                content::Store& store, const PushOptions& opts) {
  const std::string image = ref.String();
  if (!ref.digest.empty() && ref.digest != root.digest) {
    return InvalidArgument(image + ": the reference's digest is not that of the image to push (" +
                           root.digest.str() + ")");
  }
  Plan plan;
  KILN_RETURN_IF_ERROR(AddManifest(store, root, image, opts_.max_manifest_bytes, 0, &plan));
  PushResult out;
  out.root = plan.manifests.back().first;
  out.blobs_foreign = plan.foreign;

  std::mutex mu;
  PushBlobOptions blob_opts;
  blob_opts.chunk_size = opts.chunk_size;
  blob_opts.progress = [&](const PushProgress& p) {
    if (p.done) {
      std::lock_guard<std::mutex> l(mu);
      switch (p.outcome) {
        case BlobOutcome::kUploaded:
          out.blobs_uploaded++;
          out.bytes_uploaded += p.total;
          break;
        case BlobOutcome::kExisted:
          out.blobs_existing++;
          break;
        case BlobOutcome::kMounted:
          out.blobs_mounted++;
          break;
      }
    }
    if (opts.progress) opts.progress(p);
  };
  KILN_RETURN_IF_ERROR(ForEachParallel(ctx, plan.blobs.size(), opts.max_concurrent_uploads,
                                       "another upload failed", [&](const Context& work, size_t i) {
                                         PushBlobOptions o = blob_opts;
                                         if (opts.mount_from)
                                           o.mount_from = opts.mount_from(plan.blobs[i]);
                                         return PushBlob(work, ref, plan.blobs[i], store, o);
                                       }));

  const Endpoint ep = opts_.hosts.PushEndpoints(ref.domain).front();
  const std::string scope = RepositoryScope(ref.path, true);
  for (size_t i = 0; i < plan.manifests.size(); i++) {
    const auto& [desc, bytes] = plan.manifests[i];
    // Children by digest; the root under the tag when there is one.
    Reference target = ref;
    target.digest = Digest();
    if (i + 1 < plan.manifests.size()) target.tag.clear();
    const std::string what = "manifest " + desc.digest.str();
    bool by_tag = !target.tag.empty();
    KILN_ASSIGN_OR_RETURN(
        bool exists,
        Exists(ctx, ep, target, scope, "manifests/" + (by_tag ? target.tag : desc.digest.str()),
               what, by_tag ? desc.digest : Digest()));
    if (exists) {
      out.manifests_existing++;
      continue;
    }
    KILN_RETURN_IF_ERROR(PushManifest(ctx, target, desc, bytes));
    out.manifests_pushed++;
  }
  return out;
}

}  // namespace kiln::registry
