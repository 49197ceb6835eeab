#pragma once
// URLs split as Go's net/url.Parse splits the absolute ones BuildKit's http and git sources
// take ("scheme://[user[:pass]@]host[:port]/path[?query][#fragment]"): the path and fragment
// percent-decoded, the query kept raw (ParseQuery decodes it), bad escapes, control
// characters and bad ports refused. Pure functions, thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace kiln {

struct Url {
  std::string scheme;     // lower-cased
  std::string user;       // userinfo as written (may hold ":password"); see has_user
  bool has_user = false;  // an '@' was present (the userinfo may still be empty)
  std::string host;       // host[:port] as written, IPv6 literals in brackets
  std::string path;       // decoded
  std::string raw_path;   // as written
  std::string raw_query;  // after '?', as written
  std::string fragment;   // after '#', decoded

  // The host without its port and brackets (Go's URL.Hostname()).
  std::string Hostname() const;
  // scheme://[user@]host raw_path [?raw_query] (the fragment left out): what git and curl get.
  std::string WithoutFragment() const;
};

// Parses an absolute URL; InvalidArgument naming the URL and what is wrong.
Result<Url> ParseUrl(std::string_view s);

// Decodes %XX escapes ('+' too when `query`); InvalidArgument on a bad escape.
Result<std::string> PercentDecode(std::string_view s, bool query);

// "k=v&k2=v2" into decoded pairs in order (a key without '=' has an empty value).
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view raw);

}  // namespace kiln
