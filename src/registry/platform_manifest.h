#pragma once
// From an image's root (a manifest, or an index of manifests per platform) to the manifest for
// one platform, wherever the documents come from: a registry (Client::Pull) or a client's OCI
// layout read through the session (source/oci_layout.h). Stateless; thread-safe.

#include <functional>
#include <string>
#include <string_view>

#include "registry/manifest.h"
#include "util/context.h"

namespace kiln::registry {

// A manifest's or index's bytes by descriptor, verified against its digest.
using FetchManifestFn = std::function<Result<std::string>(const Context&, const Descriptor&)>;

struct PlatformManifest {
  Descriptor descriptor;  // the chosen manifest (its media type as detected)
  Manifest manifest;
};

// Follows `root` (indexes nested at most two deep) to the manifest for `platform`, picked as
// SelectManifest does. `name` (the image) prefixes errors.
Result<PlatformManifest> ResolvePlatformManifest(const Context& ctx, Descriptor root,
                                                 const Platform& platform,
                                                 const FetchManifestFn& fetch,
                                                 std::string_view name);

}  // namespace kiln::registry
