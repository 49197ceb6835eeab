#pragma once
// Image references, normalised as Docker and BuildKit do (distribution/reference's
// ParseNormalizedNamed followed by TagNameOnly):
//   busybox                    -> docker.io/library/busybox:latest
//   user/app:1.0               -> docker.io/user/app:1.0
//   localhost:5000/app         -> localhost:5000/app:latest
//   app@sha256:<hex>           -> docker.io/library/app@sha256:<hex>   (no tag added)
//   app:1.0@sha256:<hex>       -> both kept; the digest decides what is pulled
// The first path component is a registry host if it contains '.' or ':', is "localhost", or
// has upper-case letters; "index.docker.io" becomes "docker.io". Value type, thread-compatible.

#include <string>
#include <string_view>

#include "util/digest.h"
#include "util/status.h"

namespace kiln::registry {

inline constexpr std::string_view kDefaultDomain = "docker.io";

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", "[::1]:5000"
  std::string path;    // "library/busybox": the repository on that registry
  std::string tag;     // empty only when a digest is given without a tag
  Digest digest;       // empty unless given

  // "docker.io/library/busybox"
  std::string Name() const { return domain + "/" + path; }
  // The full normalised form: Name()[":" tag]["@" digest].
  std::string String() const;
  // What the registry API is asked for: the digest if any, else the tag.
  std::string TagOrDigest() const { return digest.empty() ? tag : digest.str(); }
  // Docker's short form: "busybox:latest", "user/app:1.0", "localhost:5000/app:latest".
  std::string Familiar() const;

  bool operator==(const Reference&) const = default;
};

// Parses and normalises `s`. Errors are InvalidArgument naming the reference and the rule it
// breaks (empty, upper case, bad tag, bad digest, too long, ...).
Result<Reference> ParseReference(std::string_view s);

}  // namespace kiln::registry
