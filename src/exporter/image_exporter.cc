#include "exporter/image_exporter.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "exporter/export_progress.h"
#include "exporter/image_archive.h"
#include "exporter/image_commit.h"
#include "registry/image_config.h"
#include "registry/reference.h"
#include "session/filesync.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/rfc3339.h"

namespace kiln::exporter {

namespace {

// The descriptor as Go marshals ocispecs.Descriptor: mediaType, digest, size, annotations.
std::string DescriptorJson(const registry::Descriptor& d) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.annotations.empty()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::object();
    for (const auto& [k, v] : d.annotations) a[k] = v;  // std::map: sorted, as Go
    j["annotations"] = std::move(a);
  }
  return j.dump();
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
    std::string config;
    if (auto it = req.metadata.find("containerimage.config"); it != req.metadata.end()) {
      config = it->second;
    }
    ImageCommitOptions co;
    co.layers = opts.layers;
    co.epoch = opts.epoch;
    co.manifest_annotations = opts.manifest_annotations;
    KILN_ASSIGN_OR_RETURN(CommittedImage img, CommitImage(ctx, *deps_.cache, *deps_.store, req.ref,
                                                          config, co, &lease, &vp));
    registry::Descriptor desc = img.manifest;
    desc.annotations.insert(opts.manifest_descriptor_annotations.begin(),
                            opts.manifest_descriptor_annotations.end());

    std::map<std::string, std::string> resp;
    if (opts.names.size() == 1 && opts.names[0] == "*") {
      auto it = req.metadata.find("image.name");
      opts.names.clear();
      if (it != req.metadata.end() && !it->second.empty()) opts.names.push_back(it->second);
    }
    if (kind_ == ImageExporterKind::kImage) {
      resp["containerimage.digest"] = img.manifest.digest.str();
      resp["containerimage.config.digest"] = img.config.digest.str();
      resp["containerimage.descriptor"] = Base64Encode(DescriptorJson(desc));
      KILN_RETURN_IF_ERROR(Name(img, opts, vp));
      if (!opts.names.empty()) resp["image.name"] = Join(opts.names);
      if (opts.push) {
        if (opts.names.empty()) return InvalidArgument("push=true needs a name: set name=<image>");
        for (const auto& n : opts.names) {
          KILN_RETURN_IF_ERROR(Push(ctx, req, n, desc, opts, vp));
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
      resp["containerimage.digest"] = img.manifest.digest.str();
      resp["containerimage.config.digest"] = img.config.digest.str();
      resp["containerimage.descriptor"] = Base64Encode(DescriptorJson(desc));
      KILN_RETURN_IF_ERROR(Send(ctx, req, desc, opts, resp, vp));
    }
    return resp;
  }

  // Keeps the image in the content store under each name (BuildKit's image store), where
  // local resolves of later builds find it.
  Status Name(const CommittedImage& img, const ImageExportOptions& opts,
              solver::VertexProgress& vp) {
    std::vector<std::string> names = opts.names;
    if (!opts.dangling_prefix.empty() && names.empty()) {
      names.push_back(opts.dangling_prefix + "@" + img.manifest.digest.str());
    }
    if (!opts.store || names.empty()) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(auto cfg, registry::ParseImageConfig(img.config_json, "exported image"));
    std::vector<Digest> keep = {img.manifest.digest, img.manifest.digest, img.config.digest};
    for (const auto& l : img.layers) keep.push_back(l.blob.digest);
    for (const auto& n : names) {
      auto ref = registry::ParseReference(n);
      if (!ref.ok()) return ref.status().Annotate("failed to parse " + n);
      std::string id = "naming to " + ref->String();
      vp.Status(id, 0, 0, false);
      KILN_RETURN_IF_ERROR(
          deps_.store->AddRoot("image/" + ref->String() + "/" + cfg.platform().String(), keep));
      vp.Status(id, 0, 0, true);
    }
    return Status::Ok();
  }

  Status Push(const Context& ctx, const ExportRequest& req, const std::string& name,
              const registry::Descriptor& desc, const ImageExportOptions& opts,
              solver::VertexProgress& vp);
  Status Send(const Context& ctx, const ExportRequest& req, const registry::Descriptor& desc,
              const ImageExportOptions& opts, const std::map<std::string, std::string>& resp,
              solver::VertexProgress& vp);

  ImageExporterKind kind_;
  Deps deps_;
};

Status ImageExporter::Push(const Context& ctx, const ExportRequest& req, const std::string& name,
                           const registry::Descriptor& desc, const ImageExportOptions& opts,
                           solver::VertexProgress& vp) {
  (void)ctx, (void)req, (void)name, (void)desc, (void)opts, (void)vp;
  return Unimplemented("push is not implemented yet");
}

Status ImageExporter::Send(const Context& ctx, const ExportRequest& req,
                           const registry::Descriptor& desc, const ImageExportOptions& opts,
                           const std::map<std::string, std::string>& resp,
                           solver::VertexProgress& vp) {
  ArchiveOptions ao;
  ao.format = kind_ == ImageExporterKind::kDocker ? ArchiveFormat::kDocker : ArchiveFormat::kOCI;
  ao.names = opts.names;
  if (!opts.tar) {
    return Unimplemented(
        "oci exporter with tar=false (an OCI layout directory) is not implemented yet in kiln");
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
