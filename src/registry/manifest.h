#pragma once
// Manifests and indexes of the OCI image spec and Docker's schema 2: descriptors, image
// manifests (Docker schema2, OCI), indexes (Docker manifest list, OCI index), and the choice of
// a manifest for a platform. The mediaType field may be absent (OCI allows it): the type then
// comes from the Content-Type or the descriptor that pointed here, else from the document's
// shape ("manifests" -> index, "config"/"layers" -> manifest). Docker schema 1 is refused with
// Unimplemented. Validation errors are InvalidArgument naming the image and the field.
// Value types and pure functions; thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/platform.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::registry {

namespace media_types {
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerForeignGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kOCIManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOCIIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOCIConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOCILayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOCILayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOCILayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// The Accept header for manifest requests: all four manifest and index types.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, */*";
}  // namespace media_types

bool IsIndexType(std::string_view media_type);
bool IsManifestType(std::string_view media_type);  // image manifests, not indexes
bool IsImageConfigType(std::string_view media_type);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<Platform> platform;  // in index entries
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
  std::string artifact_type;

  bool operator==(const Descriptor&) const = default;
};

struct Manifest {
  int64_t schema_version = 2;
  std::string media_type;  // as detected (never empty after parsing)
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int64_t schema_version = 2;
  std::string media_type;  // as detected
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// The media type of a manifest document: its mediaType field; else `hint` (a Content-Type, may
// carry parameters, or the descriptor's type) when it is a manifest or index type; else from its
// shape. `name` (the image) prefixes errors. Schema 1 is Unimplemented.
Result<std::string> DetectManifestType(std::string_view bytes, std::string_view hint,
                                       std::string_view name);

// Parse an image manifest / an index; the document must be of that kind.
Result<Manifest> ParseManifest(std::string_view bytes, std::string_view hint,
                               std::string_view name);
Result<Index> ParseIndex(std::string_view bytes, std::string_view hint, std::string_view name);

// The index entry for `want`: exact matches first, then compatible ones (PlatformMatcher);
// entries without a platform come last. NotFound names the image, the platform and what the
// index offers.
Result<Descriptor> SelectManifest(const Index& index, const Platform& want, std::string_view name);

}  // namespace kiln::registry
