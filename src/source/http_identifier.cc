#include "source/http_identifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "util/path.h"
#include "util/url.h"

namespace kiln::source {

namespace {

// strconv.ParseInt(v, 0, 64) as BuildKit parses http.perm/uid/gid: 0x, 0o and 0 prefixes.
Result<uint32_t> ParseUintAttr(const std::string& key, const std::string& v, uint64_t max) {
  std::string_view s = v;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  uint64_t n = 0;
  bool ok = !s.empty();
  for (char c : s) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : std::isxdigit(static_cast<unsigned char>(c))
                ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                : 99;
    if (d >= base || n > max) {
      ok = false;
      break;
    }
    n = n * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (!ok || n > max) {
    return InvalidArgument(
        fmt::format("invalid {} \"{}\" (want a number up to {:#o})", key, v, max));
  }
  return static_cast<uint32_t>(n);
}

// "accept" -> "Accept", "user-agent" -> "User-Agent" (Go's CanonicalHeaderKey).
std::string CanonicalHeader(std::string_view name) {
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return out;
}

// pathutil.SafeFileName: one path element without control characters, else "download".
std::string SafeFileName(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string name(Base(CleanPath(s)));
  if (name.empty() || name == "." || name == "..") return "download";
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "download";
  }
  return name;
}

// The filename parameter of a Content-Disposition value (quoted, token or RFC 5987
// filename*=UTF-8''...), or "".
std::string DispositionFilename(std::string_view v) {
  std::string plain, extended;
  size_t i = v.find(';');
  while (i != std::string_view::npos && i < v.size()) {
    std::string_view rest = v.substr(i + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(rest.substr(0, eq));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (!key.empty() && key.back() == ' ') key.pop_back();
    rest = rest.substr(eq + 1);
    std::string value;
    size_t consumed = 0;
    if (!rest.empty() && rest.front() == '"') {
      size_t k = 1;
      for (; k < rest.size() && rest[k] != '"'; k++) {
        if (rest[k] == '\\' && k + 1 < rest.size()) k++;
        value.push_back(rest[k]);
      }
      consumed = std::min(k + 1, rest.size());
    } else {
      consumed = std::min(rest.find(';'), rest.size());
      value = std::string(rest.substr(0, consumed));
      while (!value.empty() && value.back() == ' ') value.pop_back();
    }
    if (key == "filename") plain = value;
    if (key == "filename*") {
      size_t q = value.find("''");
      if (q != std::string::npos) {
        auto decoded = PercentDecode(std::string_view(value).substr(q + 2), false);
        if (decoded.ok()) extended = *decoded;
      }
    }
    size_t off = static_cast<size_t>(rest.data() - v.data()) + consumed;
    i = v.find(';', off);
  }
  return extended.empty() ? plain : extended;
}

}  // namespace

Result<HttpIdentifier> ParseHttp(const pb::SourceOp& op) {
  HttpIdentifier id;
  id.url = op.identifier();
  auto where = [&](const Status& s) { return s.Annotate("source \"" + id.url + "\""); };
  auto u = ParseUrl(id.url);
  if (!u.ok()) return where(u.status());
  if (u->scheme != "http" && u->scheme != "https") {
    return InvalidArgument("source \"" + id.url + "\" is not an http:// or https:// URL");
  }
  if (u->host.empty()) return InvalidArgument("source \"" + id.url + "\": the URL has no host");
  for (const auto& [k, v] : op.attrs()) {
    if (k == "http.checksum") {
      auto d = Digest::Parse(v);
      if (!d.ok()) {
        return InvalidArgument("source \"" + id.url + "\": invalid http.checksum \"" + v +
                               "\" (want sha256:<64 hex digits>)");
      }
      id.checksum = *d;
    } else if (k == "http.filename") {
      id.filename = v;
    } else if (k == "http.perm") {
      auto p = ParseUintAttr("http.perm", v, 07777);
      if (!p.ok()) return where(p.status());
      if (*p != 0) id.perm = *p;
    } else if (k == "http.uid" || k == "http.gid") {
      auto n = ParseUintAttr(k, v, 0xFFFFFFFFull);
      if (!n.ok()) return where(n.status());
      (k == "http.uid" ? id.uid : id.gid) = *n;
    } else if (k.rfind("http.header.", 0) == 0) {
      std::string name = CanonicalHeader(std::string_view(k).substr(12));
      if (name == "Accept" || name == "User-Agent") id.headers.emplace_back(name, v);
    } else if (k == "http.authheadersecret") {
      id.auth_header_secret = v;
    } else if (k == "http.sig.pubkey" || k == "http.sig.signature") {
      return Unimplemented("source \"" + id.url + "\": " + k + " is not supported by kiln yet");
    }
  }
  std::sort(id.headers.begin(), id.headers.end());
  return id;
}

std::string HttpFileName(const HttpIdentifier& id, const std::string& content_disposition) {
  if (!id.filename.empty()) return SafeFileName(id.filename);
  std::string cd = DispositionFilename(content_disposition);
  if (!cd.empty() && cd.back() != '/') {
    std::string base(Base(CleanPath(cd)));
    if (!base.empty()) return SafeFileName(base);
  }
  auto u = ParseUrl(id.url);
  if (u.ok()) {
    std::string base(Base(CleanPath(u->path)));
    if (!base.empty() && base != ".") return SafeFileName(base);
  }
  return SafeFileName("");
}

std::vector<HttpAuthSecret> HttpAuthSecrets(const HttpIdentifier& id) {
  if (!id.auth_header_secret.empty()) return {{id.auth_header_secret, false, true}};
  auto u = ParseUrl(id.url);
  if (!u.ok()) return {};
  std::string host = u->Hostname();
  return {{"HTTP_AUTH_HEADER_" + host, false, false}, {"HTTP_AUTH_TOKEN_" + host, true, false}};
}

std::string HttpUrlHash(const HttpIdentifier& id) {
  std::string headers;
  for (const auto& [k, v] : id.headers) headers += k + ": " + v + "\n";
  return Digest::FromParts({"kiln.http.url.v1", id.url, id.filename, std::to_string(id.perm),
                            std::to_string(id.uid), std::to_string(id.gid), headers,
                            id.auth_header_secret})
      .str();
}

Digest HttpCacheKey(const HttpIdentifier& id, const std::string& filename, const Digest& content,
                    const std::string& last_modified) {
  std::string headers;
  for (const auto& [k, v] : id.headers) headers += k + ": " + v + "\n";
  return Digest::FromParts({"kiln.http.v1", filename, std::to_string(id.perm),
                            std::to_string(id.uid), std::to_string(id.gid), content.str(),
                            last_modified, headers, id.auth_header_secret});
}

}  // namespace kiln::source
