#include "util/git_url.h"

#include <algorithm>
#include <array>

#include "util/path.h"
#include "util/url.h"

namespace kiln {

namespace {

constexpr std::array<std::string_view, 4> kSupported = {"http", "https", "ssh", "git"};

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// The scheme of "<alnum>+://...", lower-cased, or "".
std::string SchemeOf(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsAlnum(s[i])) i++;
  if (i == 0 || s.substr(i, 3) != "://") return "";
  std::string out(s.substr(0, i));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// BuildKit's gitSSHRegex: ^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$
struct ScpParts {
  std::string_view user, host, path, query, fragment;
};
bool SplitScp(std::string_view s, ScpParts* out) {
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view user = s.substr(0, at);
  if (!std::all_of(user.begin(), user.end(),
                   [](char c) { return IsAlnum(c) || c == '-' || c == '_'; })) {
    return false;
  }
  size_t colon = s.find(':', at + 1);
  if (colon == std::string_view::npos || colon == at + 1) return false;
  std::string_view host = s.substr(at + 1, colon - at - 1);
  if (!std::all_of(host.begin(), host.end(),
                   [](char c) { return IsAlnum(c) || c == '-' || c == '.'; })) {
    return false;
  }
  std::string_view rest = s.substr(colon + 1);
  std::string_view fragment, query;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  *out = ScpParts{user, host, rest, query, fragment};
  return true;
}

}  // namespace

bool LooksLikeGitTransport(std::string_view s) {
  ScpParts p;
  return !SchemeOf(s).empty() || SplitScp(s, &p);
}

bool IsGitTransport(std::string_view s) {
  std::string scheme = SchemeOf(s);
  if (!scheme.empty()) {
    return std::find(kSupported.begin(), kSupported.end(), scheme) != kSupported.end();
  }
  ScpParts p;
  return SplitScp(s, &p);
}

void SplitGitFragment(std::string_view fragment, std::string* ref, std::string* subdir) {
  size_t colon = fragment.find(':');
  *ref = std::string(fragment.substr(0, colon));
  std::string sub = colon == std::string_view::npos ? "" : std::string(fragment.substr(colon + 1));
  sub = CleanPath("/" + sub);
  *subdir = sub == "/" ? "" : sub.substr(1);
}

Result<GitUrl> ParseGitUrl(std::string_view s) {
  GitUrl g;
  std::string scheme = SchemeOf(s);
  if (!scheme.empty()) {
    if (std::find(kSupported.begin(), kSupported.end(), scheme) == kSupported.end()) {
      return InvalidArgument("invalid protocol: " + scheme +
                             " (git remotes are http, https, "
                             "ssh, git or user@host:path)");
    }
    KILN_ASSIGN_OR_RETURN(Url u, ParseUrl(s));
    g.scheme = u.scheme;
    g.user = u.user;
    g.host = u.host;
    g.path = u.path;
    KILN_ASSIGN_OR_RETURN(g.query, ParseQuery(u.raw_query));
    g.has_fragment = !u.fragment.empty();
    if (g.has_fragment) SplitGitFragment(u.fragment, &g.ref, &g.subdir);
    u.raw_query.clear();
    g.remote = u.WithoutFragment();
    return g;
  }
  ScpParts p;
  if (!SplitScp(s, &p)) {
    return InvalidArgument("unknown protocol: \"" + std::string(s) +
                           "\" is not a git URL (http, https, ssh, git or user@host:path)");
  }
  g.scheme = "ssh";
  g.user = std::string(p.user);
  g.host = std::string(p.host);
  g.path = std::string(p.path);
  KILN_ASSIGN_OR_RETURN(g.query, ParseQuery(p.query));
  g.has_fragment = !p.fragment.empty();
  if (g.has_fragment) SplitGitFragment(p.fragment, &g.ref, &g.subdir);
  g.remote = g.user + "@" + g.host + ":" + g.path;
  return g;
}

}  // namespace kiln
