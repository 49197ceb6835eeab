#include "util/url.h"

#include <algorithm>
#include <cstdlib>

namespace kiln {

namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSchemeChar(char c, bool first) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

// Characters Go accepts in a host (validOptionalPort and the host character set).
bool IsHostChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:[]%").find(c) != std::string_view::npos;
}

Status CheckHost(std::string_view host, std::string_view url) {
  for (char c : host) {
    if (!IsHostChar(c)) {
      return InvalidArgument("invalid URL \"" + std::string(url) + "\": invalid character \"" +
                             std::string(1, c) + "\" in host name");
    }
  }
  std::string_view port;
  if (host.starts_with("[")) {
    size_t close = host.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("invalid URL \"" + std::string(url) + "\": missing ']' in host");
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') {
      return InvalidArgument("invalid URL \"" + std::string(url) + "\": invalid port");
    }
    port = rest.empty() ? rest : rest.substr(1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
  }
  // Go's url.Parse takes any digits; a port past 65535 is refused here rather than by the
  // connection attempt, which names it less clearly.
  bool digits = std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || port.size() > 5 || std::strtol(std::string(port).c_str(), nullptr, 10) > 65535) {
    return InvalidArgument("invalid URL \"" + std::string(url) +
                           "\": invalid port \":" + std::string(port) + "\" after host");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> PercentDecode(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 2 < s.size() ? HexVal(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexVal(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        std::string bad(s.substr(i, std::min<size_t>(3, s.size() - i)));
        return InvalidArgument("invalid URL escape \"" + bad + "\"");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && query) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<Url> ParseUrl(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid URL \"" + std::string(s) + "\": " + why);
  };
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return bad("invalid control character in URL");
    }
  }
  size_t colon = s.find("://");
  if (colon == std::string_view::npos || colon == 0) return bad("missing scheme");
  for (size_t i = 0; i < colon; i++) {
    if (!IsSchemeChar(s[i], i == 0)) return bad("invalid scheme");
  }
  Url u;
  u.scheme = std::string(s.substr(0, colon));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view rest = s.substr(colon + 3);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    auto frag = PercentDecode(rest.substr(hash + 1), false);
    if (!frag.ok()) return bad(frag.status().message());
    u.fragment = std::move(*frag);
    rest = rest.substr(0, hash);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    u.raw_query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.raw_path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    u.user = std::string(authority.substr(0, at));
    u.has_user = true;
    authority = authority.substr(at + 1);
  }
  KILN_RETURN_IF_ERROR(CheckHost(authority, s));
  u.host = std::string(authority);
  auto path = PercentDecode(u.raw_path, false);
  if (!path.ok()) return bad(path.status().message());
  u.path = std::move(*path);
  return u;
}

std::string Url::Hostname() const {
  std::string_view h = host;
  if (h.starts_with("[")) return std::string(h.substr(1, h.find(']') - 1));
  return std::string(h.substr(0, h.rfind(':')));
}

std::string Url::WithoutFragment() const {
  std::string out = scheme + "://";
  if (has_user) out += user + "@";
  out += host + raw_path;
  if (!raw_query.empty()) out += "?" + raw_query;
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view kv = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    KILN_ASSIGN_OR_RETURN(std::string k, PercentDecode(kv.substr(0, eq), true));
    std::string v;
    if (eq != std::string_view::npos) {
      KILN_ASSIGN_OR_RETURN(v, PercentDecode(kv.substr(eq + 1), true));
    }
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

}  // namespace kiln
