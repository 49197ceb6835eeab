#include "registry/platform_manifest.h"

namespace kiln::registry {

Result<PlatformManifest> ResolvePlatformManifest(const Context& ctx, Descriptor desc,
                                                 const Platform& platform,
                                                 const FetchManifestFn& fetch,
                                                 std::string_view name) {
  const std::string image(name);
  std::string bytes;
  for (int depth = 0;; depth++) {
    KILN_ASSIGN_OR_RETURN(bytes, fetch(ctx, desc));
    KILN_ASSIGN_OR_RETURN(desc.media_type, DetectManifestType(bytes, desc.media_type, image));
    if (!IsIndexType(desc.media_type)) break;
    if (depth >= 2) return InvalidArgument(image + ": indexes nested too deeply");
    KILN_ASSIGN_OR_RETURN(Index index, ParseIndex(bytes, desc.media_type, image));
    KILN_ASSIGN_OR_RETURN(desc, SelectManifest(index, platform, image));
  }
  PlatformManifest out;
  KILN_ASSIGN_OR_RETURN(out.manifest, ParseManifest(bytes, desc.media_type, image));
  out.descriptor = std::move(desc);
  return out;
}

}  // namespace kiln::registry
