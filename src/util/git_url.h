#pragma once
// Git remote URLs as BuildKit's util/gitutil reads them: "https://", "http://", "git://" and
// "ssh://" URLs and scp-like "user@host:path" (ssh), each with an optional "#ref[:subdir]"
// fragment and a query, split into the parts the git source and the Dockerfile frontend need.
// Pure functions, thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace kiln {

struct GitUrl {
  std::string scheme;  // "http", "https", "git" or "ssh"
  std::string user;    // userinfo as written ("git" for git@host:path)
  std::string host;    // host[:port]
  std::string path;    // decoded path ("org/repo.git" for scp-like URLs)
  std::vector<std::pair<std::string, std::string>> query;
  bool has_fragment = false;
  std::string ref;     // fragment before ':'
  std::string subdir;  // fragment after ':', cleaned, relative ("" for the root)
  // What git fetches from: the URL without fragment and query.
  std::string remote;
};

// True when `s` starts with "<letters/digits>://" or matches the scp-like form
// (BuildKit's protoRegexp / IsImplicitSSHTransport), whether or not the scheme is one git
// supports.
bool LooksLikeGitTransport(std::string_view s);
// BuildKit's IsGitTransport: a supported scheme, or scp-like.
bool IsGitTransport(std::string_view s);

// Parses a git remote; InvalidArgument for an unsupported scheme ("invalid protocol"), a
// string that is neither a URL nor scp-like ("unknown protocol"), or a malformed URL.
Result<GitUrl> ParseGitUrl(std::string_view s);

// "ref[:subdir]" into ref and the cleaned relative subdir (BuildKit's parseOpts).
void SplitGitFragment(std::string_view fragment, std::string* ref, std::string* subdir);

}  // namespace kiln
