#pragma once
// OCI platforms (os/architecture/variant), as containerd's platforms package parses, normalises
// and matches them:
//   ParsePlatform("linux/arm64/v8"), ParsePlatform("arm64") (host os), ParsePlatform("linux")
//   Normalize: aarch64 -> arm64 (v8 is arm64's default variant), x86_64 -> amd64, armhf ->
//     arm/v7, armel -> arm/v6, i386 -> 386, arm without variant -> arm/v7, macos -> darwin
//   PlatformMatcher (platforms.Only): the platform itself first, then what it can also run:
//     arm/v7 accepts v6 and v5; arm64 accepts lower arm64 variants, then arm/v8..v5;
//     amd64/vN accepts amd64/v(N-1)..v1. amd64 accepts amd64 only (no 386 fallback).
// Value types and pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::registry {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;  // windows only, kept as given
  std::vector<std::string> os_features;

  // "linux/arm64/v8", "linux/amd64"; "unknown" when os is empty.
  std::string String() const;
  bool operator==(const Platform&) const = default;
};

// Parses a specifier: "<os>[(<os version>)]", "<arch>", "<os>/<arch>" or
// "<os>/<arch>/<variant>", normalised. InvalidArgument names the specifier.
Result<Platform> ParsePlatform(std::string_view specifier);

// The canonical form used for comparisons (see the header comment).
Platform Normalize(Platform p);

// The platform of this machine, normalised (linux/amd64, linux/arm64, linux/arm/v7, ...).
Platform HostPlatform();

// The platform as Go marshals ocispecs.Platform: architecture, os, os.version, os.features,
// variant, empty ones left out.
nlohmann::ordered_json PlatformToJSON(const Platform& p);

// The platforms of a multi-platform build result (BuildKit's exptypes.Platforms, the result
// metadata "refs.platforms"): {"platforms":[{"id":"linux/arm64","platform":{...}},...]}, the
// id being the key of the platform's ref and of its "containerimage.config/<id>".
struct ExportPlatform {
  std::string id;
  Platform platform;
};
std::string FormatExportPlatforms(const std::vector<ExportPlatform>& platforms);
// InvalidArgument when the JSON is not that shape or a platform has no os or architecture.
Result<std::vector<ExportPlatform>> ParseExportPlatforms(std::string_view json);

class PlatformMatcher {
 public:
  // Accepts `want` and the platforms it is compatible with, best first (platforms.Only).
  explicit PlatformMatcher(const Platform& want);
  // Accepts only `want` itself, in any spelling (platforms.OnlyStrict).
  static PlatformMatcher Strict(const Platform& want);

  bool Match(const Platform& p) const { return Rank(p).has_value(); }
  // Position of p in the preference order (0 is best); nullopt if not accepted.
  std::optional<size_t> Rank(const Platform& p) const;
  const std::vector<Platform>& accepted() const { return vector_; }

 private:
  PlatformMatcher() = default;
  std::vector<Platform> vector_;  // normalised
};

}  // namespace kiln::registry
