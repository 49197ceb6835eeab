#include "registry/reference.h"

namespace kiln::registry {

namespace {

constexpr size_t kNameTotalLengthMax = 255;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }
bool HasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

// path-component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool ValidPathComponent(std::string_view c) {
  size_t i = 0;
  auto run = [&] {
    size_t start = i;
    while (i < c.size() && IsLowerAlnum(c[i])) i++;
    return i > start;
  };
  if (!run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      i++;
    } else if (c[i] == '_') {
      i++;
      if (i < c.size() && c[i] == '_') i++;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') i++;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

// domain-component: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool ValidDomainComponent(std::string_view c) {
  if (c.empty() || !IsAlnum(c.front()) || !IsAlnum(c.back())) return false;
  for (char ch : c) {
    if (!IsAlnum(ch) && ch != '-') return false;
  }
  return true;
}

bool ValidPort(std::string_view p) {
  if (p.empty()) return false;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// host (dotted components or a bracketed IPv6 address), then an optional ":port".
bool ValidDomain(std::string_view d) {
  std::string_view host = d;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!(IsAlnum(c) || c == ':' || c == '.')) return false;
    }
    std::string_view rest = d.substr(close + 1);
    return rest.empty() || (rest.front() == ':' && ValidPort(rest.substr(1)));
  }
  if (size_t colon = d.rfind(':'); colon != std::string_view::npos) {
    if (!ValidPort(d.substr(colon + 1))) return false;
    host = d.substr(0, colon);
  }
  size_t start = 0;
  for (;;) {
    size_t dot = host.find('.', start);
    if (!ValidDomainComponent(host.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// tag: [\w][\w.-]{0,127}
bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !IsWordChar(t.front())) return false;
  for (char c : t) {
    if (!IsWordChar(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string Reference::String() const {
  std::string s = Name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest.str();
  return s;
}

std::string Reference::Familiar() const {
  std::string name = Name();
  if (domain == kDefaultDomain) {
    name = path.starts_with("library/") && path.find('/', 8) == std::string::npos ? path.substr(8)
                                                                                  : path;
  }
  if (!tag.empty()) name += ":" + tag;
  if (!digest.empty()) name += "@" + digest.str();
  return name;
}

Result<Reference> ParseReference(std::string_view s) {
  std::string quoted = "\"" + std::string(s.substr(0, 300)) + "\"";
  auto fail = [&](std::string_view why) {
    return InvalidArgument("invalid reference " + quoted + ": " + std::string(why));
  };
  if (s.empty()) return fail("repository name must have at least one component");
  if (IsHex64(s)) return fail("cannot specify 64-byte hexadecimal strings");

  Reference ref;
  std::string_view named = s;
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    std::string_view dg = s.substr(at + 1);
    named = s.substr(0, at);
    if (dg.find(':') == std::string_view::npos) return fail("invalid digest format");
    if (!dg.starts_with("sha256:")) return fail("unsupported digest algorithm");
    auto d = Digest::Parse(dg);
    if (!d.ok()) return fail("invalid digest \"" + std::string(dg) + "\"");
    ref.digest = *d;
  }
  if (named.empty()) return fail("repository name must have at least one component");

  // Split off the registry host (distribution's splitDockerDomain).
  std::string_view remainder = named;
  ref.domain = kDefaultDomain;
  if (size_t slash = named.find('/'); slash != std::string_view::npos) {
    std::string_view first = named.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        HasUpper(first)) {
      ref.domain = std::string(first);
      remainder = named.substr(slash + 1);
    }
  }
  if (ref.domain == "index.docker.io") ref.domain = kDefaultDomain;
  if (!ValidDomain(ref.domain)) return fail("invalid registry host \"" + ref.domain + "\"");

  // In the remainder, a ':' starts the tag.
  std::string_view repo = remainder;
  if (size_t colon = remainder.find(':'); colon != std::string_view::npos) {
    repo = remainder.substr(0, colon);
    std::string_view tag = remainder.substr(colon + 1);
    if (!ValidTag(tag)) return fail("invalid tag \"" + std::string(tag) + "\"");
    ref.tag = std::string(tag);
  }
  if (repo.empty()) return fail("repository name must have at least one component");
  if (HasUpper(repo)) {
    return fail("repository name \"" + std::string(repo) + "\" must be lowercase");
  }
  size_t start = 0;
  for (;;) {
    size_t slash = repo.find('/', start);
    std::string_view comp = repo.substr(start, slash - start);
    if (!ValidPathComponent(comp)) {
      if (comp.empty()) return fail("empty path component");
      return fail("invalid path component \"" + std::string(comp) + "\"");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  ref.path = std::string(repo);
  if (ref.domain == kDefaultDomain && ref.path.find('/') == std::string::npos) {
    ref.path = "library/" + ref.path;
  }
  if (ref.Name().size() > kNameTotalLengthMax) {
    return fail("repository name must not be more than 255 characters");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace kiln::registry
