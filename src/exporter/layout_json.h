#pragma once
// The generated JSON files of an image archive (internal to the image archive writers), written
// as Go's encoding/json writes containerd's structs: fields in struct order, map keys sorted, no
// spaces, '<', '>', '&', U+2028 and U+2029 escaped, no trailing newline. Pure functions;
// thread-safe.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "registry/manifest.h"
#include "registry/reference.h"

namespace kiln::exporter::internal {

// A descriptor as Go marshals ocispecs.Descriptor: mediaType, digest, size, urls, annotations,
// platform, artifactType (empty ones left out).
nlohmann::ordered_json DescriptorJson(const registry::Descriptor& d);

// {"imageLayoutVersion":"1.0.0"}
std::string OCILayoutJson();

// index.json: the root descriptor once per name with the name annotations
// ("io.containerd.image.name": the full name, "org.opencontainers.image.ref.name": the tag, or
// the full name when there is only a digest); the root as given when there are no names.
std::string IndexJson(const registry::Descriptor& root,
                      const std::vector<registry::Reference>& names);

// manifest.json for `docker load`: [{"Config","RepoTags","Layers"}], tags in Docker's short
// form ("busybox:latest"); RepoTags and Layers are null when empty, as containerd writes them.
std::string DockerManifestJson(const registry::Manifest& m,
                               const std::vector<registry::Reference>& names);

// `docker save`'s repositories file, {"<short repo>":{"<tag>":"<hex of the top layer>"}}, for
// the tagged names; nullopt when there is nothing to say (no tags or no layers).
std::optional<std::string> RepositoriesJson(const registry::Manifest& m,
                                            const std::vector<registry::Reference>& names);

}  // namespace kiln::exporter::internal
