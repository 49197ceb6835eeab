#pragma once
// The identifier of an http:// or https:// source (BuildKit's source/http identifier): the URL
// and its attrs (http.checksum, http.filename, http.perm, http.uid, http.gid, http.header.*),
// the name the downloaded file gets, and the hashes the source keys on. Pure functions,
// thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pb/ops.pb.h"
#include "util/digest.h"

namespace kiln::source {

struct HttpIdentifier {
  std::string url;
  Digest checksum;       // http.checksum; empty when not pinned
  std::string filename;  // http.filename; empty: from Content-Disposition or the URL
  uint32_t perm = 0600;  // http.perm (BuildKit's default when unset or 0)
  uint32_t uid = 0;
  uint32_t gid = 0;
  // http.header.accept and http.header.user-agent (the only ones BuildKit passes on), as
  // canonical header names, sorted.
  std::vector<std::pair<std::string, std::string>> headers;
  // http.authheadersecret: the client secret holding the Authorization header. Without it the
  // secrets HTTP_AUTH_HEADER_<host> and HTTP_AUTH_TOKEN_<host> are tried (see HttpAuthSecrets).
  std::string auth_header_secret;
};

// Parses an http(s):// SourceOp; a malformed URL or attr value is an InvalidArgument naming
// the source and the attr. Attrs this source does not know are ignored, as BuildKit does; the
// ones it knows but kiln does not implement (signatures) are Unimplemented.
Result<HttpIdentifier> ParseHttp(const pb::SourceOp& op);

// BuildKit's getFileName: http.filename, else Content-Disposition's filename, else the last
// element of the URL path, made safe (a single path element; "download" when there is none).
std::string HttpFileName(const HttpIdentifier& id, const std::string& content_disposition);

// The client secrets asked for the Authorization header of a request, in order, and whether
// each is a bearer token (BuildKit's newHTTPRequest): http.authheadersecret alone when set
// (then it must exist), else HTTP_AUTH_HEADER_<host> and HTTP_AUTH_TOKEN_<host> (optional; the
// token wins when both exist).
struct HttpAuthSecret {
  std::string id;
  bool token = false;
  bool required = false;
};
std::vector<HttpAuthSecret> HttpAuthSecrets(const HttpIdentifier& id);

// What the saved ETags of this source are found by: the URL and everything that shapes the
// saved file (BuildKit's urlHash).
std::string HttpUrlHash(const HttpIdentifier& id);

// The cache key of a download: the file's name, mode, owner, content and mtime.
Digest HttpCacheKey(const HttpIdentifier& id, const std::string& filename, const Digest& content,
                    const std::string& last_modified);

}  // namespace kiln::source
