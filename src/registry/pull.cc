// Client::Pull: reference + platform -> manifest, config and layers in the content store.
#include "registry/client.h"
#include "registry/parallel.h"
#include "registry/platform_manifest.h"

namespace kiln::registry {

namespace {

// Keeps a fetched manifest or index in the store too (exporters and `docker-image://` reuse it).
Status Keep(const Context& ctx, content::Store& store, const Descriptor& d,
            const std::string& bytes, content::Lease* lease) {
  return store.WriteBlob(ctx, bytes, d.digest, lease).status();
}

}  // namespace

Status Client::FetchLayers(const Context& ctx, const Reference& ref,
                           const std::vector<Descriptor>& layers, content::Store& store,
                           content::Lease* lease) {
  return ForEachParallel(ctx, layers.size(), opts_.max_concurrent_downloads, "another layer failed",
                         [&](const Context& work, size_t i) {
                           return FetchBlob(work, ref, layers[i], store, lease).status();
                         });
}

Result<PulledImage> Client::Pull(const Context& ctx, const Reference& ref, const Platform& platform,
                                 content::Store& store, const PullOptions& opts) {
  const std::string image = ref.String();
  PulledImage out;
  out.ref = ref;
  KILN_ASSIGN_OR_RETURN(Resolved resolved, Resolve(ctx, ref));
  out.root = resolved.descriptor;
  auto fetch = [&](const Context& c, const Descriptor& d) -> Result<std::string> {
    KILN_ASSIGN_OR_RETURN(std::string bytes, FetchManifest(c, ref, d));
    KILN_RETURN_IF_ERROR(Keep(c, store, d, bytes, opts.lease));
    return bytes;
  };
  KILN_ASSIGN_OR_RETURN(PlatformManifest pm,
                        ResolvePlatformManifest(ctx, resolved.descriptor, platform, fetch, image));
  out.manifest_descriptor = std::move(pm.descriptor);
  out.manifest = std::move(pm.manifest);
  const Descriptor& cd = out.manifest.config;
  if (cd.size > opts_.max_config_bytes) {
    return ResourceExhausted(image + ": image config is " + std::to_string(cd.size) +
                             " bytes, more than the limit of " +
                             std::to_string(opts_.max_config_bytes));
  }
  KILN_RETURN_IF_ERROR(FetchBlob(ctx, ref, cd, store, opts.lease));
  KILN_ASSIGN_OR_RETURN(std::string config, store.ReadAll(cd.digest, opts_.max_config_bytes));
  KILN_ASSIGN_OR_RETURN(out.config, ParseImageConfig(config, image));
  out.layers = out.manifest.layers;
  if (IsImageConfigType(cd.media_type) && out.config.diff_ids.size() != out.layers.size()) {
    return InvalidArgument(
        image + ": the image config lists " + std::to_string(out.config.diff_ids.size()) +
        " layers (rootfs.diff_ids) but the manifest has " + std::to_string(out.layers.size()));
  }
  if (opts.layers) KILN_RETURN_IF_ERROR(FetchLayers(ctx, ref, out.layers, store, opts.lease));
  return out;
}

}  // namespace kiln::registry
