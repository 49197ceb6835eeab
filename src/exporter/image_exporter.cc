#include "exporter/image_exporter.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "exporter/export_progress.h"
#include "exporter/image_archive.h"
#include "exporter/image_commit.h"
#include "exporter/image_index.h"
#include "exporter/layout_json.h"
#include "exporter/platform_refs.h"
#include "registry/image_config.h"
#include "registry/reference.h"
#include "session/content_copy.h"
#include "session/filesync.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/rfc3339.h"

namespace kiln::exporter {

namespace {

// BuildKit's checks before writing: a platform's annotations need that platform in a
// multi-platform result; annotations other than the manifests' need OCI media types.
Status CheckAnnotations(const ExportRequest& req, const ImageExportOptions& opts) {
  if (!req.refs.empty()) {
    for (const auto& [platform, a] : opts.platform_annotations) {
      if (!req.refs.contains(platform)) {
        return InvalidArgument("invalid annotation: no platform " + platform + " found in source");
      }
    }
  }
  bool descriptor_annotations = !opts.manifest_descriptor_annotations.empty();
  for (const auto& [platform, a] : opts.platform_annotations) {
    descriptor_annotations = descriptor_annotations || !a.manifest_descriptor.empty();
  }
  if (!opts.layers.oci_mediatypes.value_or(false) &&
      (descriptor_annotations || !opts.index_annotations.empty() ||
       !opts.index_descriptor_annotations.empty())) {
    return InvalidArgument("cannot export annotations with \"oci-mediatypes=false\"");
  }
  return Status::Ok();
}

// The descriptor as Go marshals ocispecs.Descriptor.
std::string DescriptorJson(const registry::Descriptor& d) {
  return internal::DescriptorJson(d).dump();
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

class ImageExporter : public Exporter {
 public:
  ImageExporter(ImageExporterKind kind, Deps deps) : kind_(kind), deps_(std::move(deps)) {}

  Result<std::map<std::string, std::string>> Export(const Context& ctx,
                                                    const ExportRequest& req) override {
    KILN_ASSIGN_OR_RETURN(ImageExportOptions opts,
                          ParseImageExportOptions(kind_, req.attrs, req.metadata));
    ExportProgress p(req, VertexName());
    auto r = Run(ctx, req, opts, p.vp());
    p.vp().Completed(false, r.status());
    return r;
  }

 private:
  std::string VertexName() const {
    switch (kind_) {
      case ImageExporterKind::kImage:
        return "exporting to image";
      case ImageExporterKind::kOCI:
        return "exporting to oci image format";
      case ImageExporterKind::kDocker:
        return "exporting to docker image format";
    }
    return "exporting";
  }

  Result<std::map<std::string, std::string>> Run(const Context& ctx, const ExportRequest& req,
                                                 ImageExportOptions& opts,
                                                 solver::VertexProgress& vp) {
    if (!deps_.cache || !deps_.store) return Internal("image exporter without a content store");
    if (kind_ != ImageExporterKind::kImage && !req.session) {
      return FailedPrecondition(VertexName() + " needs a client session");
    }
    content::Lease lease = deps_.store->NewLease("export");
    ImageCommitOptions co;
    co.layers = opts.layers;
    co.epoch = opts.epoch;
    KILN_RETURN_IF_ERROR(CheckAnnotations(req, opts));
    // One image, or one per platform under an index.
    std::vector<CommittedImage> images;
    registry::Descriptor desc;
    if (req.refs.empty()) {
      if (!opts.index_annotations.empty() || !opts.index_descriptor_annotations.empty()) {
        return InvalidArgument("index annotations not supported for single platform export");
      }
      co.manifest_annotations = opts.ManifestAnnotations("");
      std::string config;
      if (auto it = req.metadata.find("containerimage.config"); it != req.metadata.end()) {
        config = it->second;
      }
      KILN_ASSIGN_OR_RETURN(CommittedImage img, CommitImage(ctx, *deps_.cache, *deps_.store,
                                                            req.ref, config, co, &lease, &vp));
      desc = img.manifest;
      for (const auto& [k, v] : opts.ManifestDescriptorAnnotations("")) desc.annotations[k] = v;
      KILN_ASSIGN_OR_RETURN(desc.platform, SinglePlatform(req, config));
      images.push_back(std::move(img));
    } else {
      if (kind_ == ImageExporterKind::kDocker) {
        return InvalidArgument(
            "docker exporter does not currently support exporting manifest lists");
      }
      KILN_ASSIGN_OR_RETURN(std::vector<PlatformRef> platforms, PlatformRefs(req));
      std::vector<registry::Descriptor> manifests;
      for (const auto& p : platforms) {
        co.manifest_annotations = opts.ManifestAnnotations(p.platform.id);
        KILN_ASSIGN_OR_RETURN(CommittedImage img, CommitImage(ctx, *deps_.cache, *deps_.store,
                                                              p.ref, p.config, co, &lease, &vp));
        registry::Descriptor d = img.manifest;
        for (const auto& [k, v] : opts.ManifestDescriptorAnnotations(p.platform.id)) {
          d.annotations[k] = v;
        }
        d.platform = p.platform.platform;
        manifests.push_back(std::move(d));
        images.push_back(std::move(img));
      }
      bool oci = opts.layers.oci_mediatypes.value_or(false);
      KILN_ASSIGN_OR_RETURN(
          CommittedIndex idx,
          CommitIndex(ctx, *deps_.store, manifests, oci, &lease, opts.index_annotations));
      vp.Status("exporting manifest list " + idx.index.digest.str(), 0, 0, true);
      desc = idx.index;
      for (const auto& [k, v] : opts.index_descriptor_annotations) desc.annotations[k] = v;
    }
    const bool single = req.refs.empty();

    std::map<std::string, std::string> resp;
    if (opts.names.size() == 1 && opts.names[0] == "*") {
      auto it = req.metadata.find("image.name");
      opts.names.clear();
      if (it != req.metadata.end() && !it->second.empty()) opts.names.push_back(it->second);
    }
    resp["containerimage.digest"] = desc.digest.str();
    if (single) resp["containerimage.config.digest"] = images[0].config.digest.str();
    if (kind_ == ImageExporterKind::kImage) {
      resp["containerimage.descriptor"] = Base64Encode(DescriptorJson(desc));
      for (const auto& img : images) KILN_RETURN_IF_ERROR(Name(img, desc, opts, vp));
      if (!opts.names.empty()) resp["image.name"] = Join(opts.names);
      if (opts.push) {
        if (opts.names.empty()) return InvalidArgument("push=true needs a name: set name=<image>");
        for (const auto& n : opts.names) {
          KILN_RETURN_IF_ERROR(Push(ctx, req, n, images, desc, opts, vp));
        }
      }
    } else {
      std::vector<std::string> names;
      for (const auto& n : opts.names) {
        auto ref = registry::ParseReference(n);
        if (!ref.ok()) return ref.status().Annotate("failed to parse " + n);
        names.push_back(ref->String());
      }
      opts.names = names;
      if (!names.empty()) resp["image.name"] = Join(names);
      if (!desc.annotations.count("org.opencontainers.image.created")) {
        int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        desc.annotations["org.opencontainers.image.created"] =
            FormatRFC3339Nano(opts.epoch.value_or(now) * 1000000000);
      }
      resp["containerimage.descriptor"] = Base64Encode(DescriptorJson(desc));
      KILN_RETURN_IF_ERROR(Send(ctx, req, images, desc, opts, resp, vp));
    }
    return resp;
  }

  // Keeps the image (of one platform, under `root`: its manifest or their index) in the content
  // store under each name (BuildKit's image store), where local resolves of later builds find it.
  Status Name(const CommittedImage& img, const registry::Descriptor& root,
              const ImageExportOptions& opts, solver::VertexProgress& vp) {
    std::vector<std::string> names = opts.names;
    if (!opts.dangling_prefix.empty() && names.empty()) {
      names.push_back(opts.dangling_prefix + "@" + root.digest.str());
    }
    if (!opts.store || names.empty()) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(auto cfg, registry::ParseImageConfig(img.config_json, "exported image"));
    // [root, manifest, config, layers...]: the shape a pull leaves (the root is the index of a
    // multi-platform image).
    std::vector<Digest> keep = {root.digest, img.manifest.digest, img.config.digest};
    for (const auto& l : img.layers) keep.push_back(l.blob.digest);
    for (const auto& n : names) {
      auto ref = registry::ParseReference(n);
      if (!ref.ok()) return ref.status().Annotate("failed to parse " + n);
      std::string id = "naming to " + ref->String();
      vp.Status(id, 0, 0, false);
      KILN_RETURN_IF_ERROR(deps_.store->AddRoot(
          "image/" + ref->String() + "/" + registry::Normalize(cfg.platform()).String(), keep));
      vp.Status(id, 0, 0, true);
    }
    return Status::Ok();
  }

  Status Push(const Context& ctx, const ExportRequest& req, const std::string& name,
              const std::vector<CommittedImage>& images, const registry::Descriptor& desc,
              const ImageExportOptions& opts, solver::VertexProgress& vp);
  Status Send(const Context& ctx, const ExportRequest& req,
              const std::vector<CommittedImage>& images, const registry::Descriptor& desc,
              const ImageExportOptions& opts, const std::map<std::string, std::string>& resp,
              solver::VertexProgress& vp);

  ImageExporterKind kind_;
  Deps deps_;
};

Status ImageExporter::Push(const Context& ctx, const ExportRequest& req, const std::string& name,
                           const std::vector<CommittedImage>& images,
                           const registry::Descriptor& desc, const ImageExportOptions& opts,
                           solver::VertexProgress& vp) {
  auto ref = registry::ParseReference(name);
  if (!ref.ok()) return ref.status().Annotate("failed to parse " + name);
  if (opts.push_by_digest) {
    ref->tag.clear();
    ref->digest = desc.digest;
  }
  if (!deps_.registry) return Internal("image exporter without a registry client");
  auto client = deps_.registry(ctx, req, opts.insecure ? ref->domain : std::string());
  // Pulled layers from another repository of the same registry are mounted, not uploaded.
  std::map<Digest, std::string> sources;
  for (const auto& img : images) {
    for (const auto& l : img.layers) {
      const std::string prefix = ref->domain + "/";
      if (l.source.compare(0, prefix.size(), prefix) == 0 && l.source != ref->Name()) {
        sources[l.blob.digest] = l.source.substr(prefix.size());
      }
    }
  }
  registry::PushOptions po;
  po.mount_from = [&sources](const registry::Descriptor& d) {
    auto it = sources.find(d.digest);
    return it == sources.end() ? std::string() : it->second;
  };
  po.progress = [&vp](const registry::PushProgress& p) {
    vp.Status(p.digest.str(), p.offset, p.total, p.done);
  };
  vp.Status("pushing layers", 0, 0, false);
  auto pushed = client->Push(ctx, *ref, desc, *deps_.store, po);
  vp.Status("pushing layers", 0, 0, true);
  if (!pushed.ok()) return pushed.status().Annotate("failed to push " + name);
  // Our layers are in this repository now: later pushes elsewhere on the registry mount them.
  for (const auto& img : images) {
    for (const auto& l : img.layers) {
      Status s = RecordBlobSource(*deps_.cache, l, ref->Name());
      if (!s.ok())
        log::Warn("recording where layer {} was pushed: {}", l.blob.digest.str(), s.message());
    }
  }
  std::string mid = "pushing manifest for " + ref->Name() + "@" + desc.digest.str();
  vp.Status(mid, 0, 0, true);
  log::Info("pushed {}: {} blobs uploaded ({} bytes), {} already there, {} mounted", name,
            pushed->blobs_uploaded, pushed->bytes_uploaded, pushed->blobs_existing,
            pushed->blobs_mounted);
  return Status::Ok();
}

Status ImageExporter::Send(const Context& ctx, const ExportRequest& req,
                           const std::vector<CommittedImage>& images,
                           const registry::Descriptor& desc, const ImageExportOptions& opts,
                           const std::map<std::string, std::string>& resp,
                           solver::VertexProgress& vp) {
  ArchiveOptions ao;
  ao.format = kind_ == ImageExporterKind::kDocker ? ArchiveFormat::kDocker : ArchiveFormat::kOCI;
  ao.names = opts.names;
  if (!opts.tar) {
    // An OCI layout directory on the client: the blobs go into the content store the client
    // serves for it, children first; the client writes index.json from the response.
    std::vector<session::BlobDescriptor> blobs;
    std::set<Digest> seen;  // platforms share base layers
    auto add = [&](const auto& d) {
      if (seen.insert(d.digest).second) blobs.push_back({d.media_type, d.digest, d.size});
    };
    for (const auto& img : images) {
      for (const auto& l : img.layers) add(l.blob);
      add(img.config);
      if (img.manifest.digest != desc.digest) add(img.manifest);
    }
    add(desc);
    session::BlobCopyOptions co;
    co.progress = [&vp](const session::BlobProgress& p) {
      vp.Status(p.blob->digest.str(), p.written, p.blob->size, p.done);
    };
    auto copied = session::CopyBlobsToClientStore(ctx, *req.session, session::kExportStoreId,
                                                  *deps_.store, blobs, co);
    return copied.status();
  }
  // The response entries go to the client with the stream (exporter-md-<key>), as BuildKit's.
  return SendTarball(ctx, req, resp, vp, [&](const ByteSink& sink) {
    return WriteImageArchive(ctx, *deps_.store, desc, ao, sink);
  });
}

}  // namespace

Result<std::unique_ptr<Exporter>> NewImageExporter(ImageExporterKind kind, const Deps& deps) {
  return std::unique_ptr<Exporter>(new ImageExporter(kind, deps));
}

}  // namespace kiln::exporter
