#pragma once
// Typed error details in BuildKit's wire form and buildctl's rendering of them. On the wire each
// detail is a google.protobuf.Any inside google.rpc.Status.details whose type URL is
// "github.com/moby/buildkit/errdefs.<Name>+json" and whose value is the Go JSON encoding of the
// message (grpcerrors.ToGRPC); the gRPC edges (daemon, client) wrap these pairs in protobuf.
// Stateless functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln {

struct TypedDetail {
  std::string type_url;
  std::string value;
};

inline constexpr std::string_view kVertexDetailURL = "github.com/moby/buildkit/errdefs.Vertex+json";
inline constexpr std::string_view kSourceDetailURL = "github.com/moby/buildkit/errdefs.Source+json";

std::vector<TypedDetail> EncodeErrorDetails(const ErrorDetails& d);
// Adds what one typed detail says to `d`; types kiln does not know and malformed values are
// ignored, as BuildKit's client ignores them.
void DecodeErrorDetail(std::string_view type_url, std::string_view value, ErrorDetails* d);

// The lines of a source detail as buildctl prints them before the error (errdefs.Source.Print):
// "Dockerfile:3", a rule, up to four lines of context with ">>>" on the failing ones, a rule.
// Empty when the ranges are outside the file.
std::string FormatSourceLocation(const SourceLocation& src);

}  // namespace kiln
