#include "registry/platform.h"

#include <charconv>

namespace kiln::registry {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsKnownOS(std::string_view os) {
  for (std::string_view k :
       {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux",
        "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos"}) {
    if (os == k) return true;
  }
  return false;
}

bool IsKnownArch(std::string_view arch) {
  for (std::string_view k :
       {"386",     "amd64",    "amd64p32",  "arm",         "armbe",   "arm64",
        "arm64be", "ppc64",    "ppc64le",   "loong64",     "mips",    "mipsle",
        "mips64",  "mips64le", "mips64p32", "mips64p32le", "ppc",     "riscv",
        "riscv64", "s390",     "s390x",     "sparc",       "sparc64", "wasm"}) {
    if (arch == k) return true;
  }
  return false;
}

// [A-Za-z0-9_.-]+
bool ValidComponent(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NormalizeOS(std::string_view os) {
  std::string o = Lower(os);
  if (o.empty()) return "linux";
  if (o == "macos") return "darwin";
  return o;
}

void NormalizeArch(std::string& arch, std::string& variant) {
  arch = Lower(arch);
  variant = Lower(variant);
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant.clear();
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") {
      variant = "v7";
    } else if (variant == "5" || variant == "6" || variant == "8") {
      variant = "v" + variant;
    }
  }
}

// The number in "v<N>" (or "<N>"), if it is one.
std::optional<int> VersionOf(std::string_view v) {
  if (v.starts_with("v")) v.remove_prefix(1);
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return n;
}

Platform With(const Platform& base, std::string arch, std::string variant) {
  Platform p;
  p.os = base.os;
  p.os_version = base.os_version;
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

void AppendVector(const Platform& p, std::vector<Platform>* out) {
  out->push_back(p);
  if (p.architecture == "amd64") {
    if (auto n = VersionOf(p.variant); n && *n > 1) {
      for (int v = *n - 1; v >= 1; v--) out->push_back(With(p, "amd64", "v" + std::to_string(v)));
    }
  } else if (p.architecture == "arm") {
    if (auto n = VersionOf(p.variant); n && *n > 5) {
      for (int v = *n - 1; v >= 5; v--) out->push_back(With(p, "arm", "v" + std::to_string(v)));
    }
  } else if (p.architecture == "arm64") {
    std::string variant = p.variant.empty() ? "v8" : p.variant;
    std::string_view v = variant;
    size_t dot = v.find('.');
    auto major = VersionOf(v.substr(0, dot));
    if (major && *major >= 8) {
      int minor = 0;
      if (dot != std::string_view::npos) minor = VersionOf(v.substr(dot + 1)).value_or(0);
      auto name = [](int maj, int min) {
        return min == 0 ? "v" + std::to_string(maj)
                        : "v" + std::to_string(maj) + "." + std::to_string(min);
      };
      int maj = *major;
      if (maj == 9) {
        for (int m = minor - 1; m >= 0; m--) out->push_back(With(p, "arm64", name(9, m)));
        // v9.x is compatible with v8.(x+5).
        minor += 5;
        maj = 8;
        out->push_back(With(p, "arm64", name(8, minor)));
      }
      for (int m = minor - 1; m >= 0; m--) out->push_back(With(p, "arm64", name(maj, m)));
    }
    if (variant.starts_with("v8.") || variant.starts_with("v9.")) variant = "v8";
    Platform arm = With(p, "arm", variant);
    AppendVector(arm, out);
  }
}

}  // namespace

std::string Platform::String() const {
  if (os.empty()) return "unknown";
  std::string s = os;
  if (!architecture.empty()) s += "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform Normalize(Platform p) {
  p.os = NormalizeOS(p.os);
  NormalizeArch(p.architecture, p.variant);
  return p;
}

nlohmann::ordered_json PlatformToJSON(const Platform& p) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

std::string FormatExportPlatforms(const std::vector<ExportPlatform>& platforms) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& p : platforms) {
    list.push_back({{"id", p.id}, {"platform", PlatformToJSON(p.platform)}});
  }
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["platforms"] = std::move(list);
  return j.dump();
}

Result<std::vector<ExportPlatform>> ParseExportPlatforms(std::string_view json) {
  auto bad = [](const std::string& why) {
    return InvalidArgument("invalid refs.platforms metadata: " + why);
  };
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto list = j.find("platforms");
  if (list == j.end() || !list->is_array()) return bad("no platforms list");
  std::vector<ExportPlatform> out;
  for (const auto& e : *list) {
    if (!e.is_object()) return bad("an entry is not an object");
    auto str = [](const nlohmann::json& o, const char* k) {
      auto it = o.find(k);
      return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    ExportPlatform ep;
    ep.id = str(e, "id");
    auto pj = e.find("platform");
    if (pj == e.end() || !pj->is_object()) return bad("entry " + ep.id + " has no platform");
    ep.platform.os = str(*pj, "os");
    ep.platform.architecture = str(*pj, "architecture");
    ep.platform.variant = str(*pj, "variant");
    ep.platform.os_version = str(*pj, "os.version");
    if (auto f = pj->find("os.features"); f != pj->end() && f->is_array()) {
      for (const auto& v : *f) {
        if (v.is_string()) ep.platform.os_features.push_back(v.get<std::string>());
      }
    }
    if (ep.id.empty() || ep.platform.os.empty() || ep.platform.architecture.empty()) {
      return bad("an entry has no id, os or architecture");
    }
    out.push_back(std::move(ep));
  }
  return out;
}

Result<Platform> ParsePlatform(std::string_view specifier) {
  auto fail = [&](std::string_view why) {
    return InvalidArgument("invalid platform \"" + std::string(specifier.substr(0, 100)) +
                           "\": " + std::string(why));
  };
  if (specifier.find('*') != std::string_view::npos) return fail("wildcards not supported");
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = specifier.find('/', start);
    parts.push_back(specifier.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() > 3) return fail("want <os>/<arch>[/<variant>]");
  Platform p;
  std::string_view os = parts[0];
  if (size_t paren = os.find('('); paren != std::string_view::npos) {
    if (!os.ends_with(")")) return fail("unbalanced parenthesis in the os version");
    p.os_version = std::string(os.substr(paren + 1, os.size() - paren - 2));
    os = os.substr(0, paren);
  }
  for (size_t i = 0; i < parts.size(); i++) {
    if (!ValidComponent(i == 0 ? os : parts[i])) {
      return fail("\"" + std::string(parts[i]) + "\" is not a valid component");
    }
  }
  p.os = NormalizeOS(os);
  Platform host = HostPlatform();
  switch (parts.size()) {
    case 1:
      if (IsKnownOS(p.os)) {
        p.architecture = host.architecture;
        p.variant = host.variant;
        if (p.architecture == "arm" && p.variant == "v7") p.variant.clear();
        return p;
      }
      p.architecture = std::string(parts[0]);
      NormalizeArch(p.architecture, p.variant);
      if (p.architecture == "arm" && p.variant == "v7") p.variant.clear();
      if (!IsKnownArch(p.architecture)) return fail("unknown operating system or architecture");
      p.os = host.os;
      p.os_version.clear();
      return p;
    case 2:
      p.architecture = std::string(parts[1]);
      NormalizeArch(p.architecture, p.variant);
      if (p.architecture == "arm" && p.variant == "v7") p.variant.clear();
      return p;
    default:
      p.architecture = std::string(parts[1]);
      p.variant = std::string(parts[2]);
      NormalizeArch(p.architecture, p.variant);
      if (p.architecture == "arm64" && p.variant.empty()) p.variant = "v8";
      return p;
  }
}

PlatformMatcher::PlatformMatcher(const Platform& want) {
  Platform n = Normalize(want);
  n.os_features.clear();
  AppendVector(n, &vector_);
  for (auto& p : vector_) p = Normalize(p);
}

PlatformMatcher PlatformMatcher::Strict(const Platform& want) {
  PlatformMatcher m;
  Platform n = Normalize(want);
  n.os_features.clear();
  m.vector_.push_back(std::move(n));
  return m;
}

std::optional<size_t> PlatformMatcher::Rank(const Platform& p) const {
  Platform n = Normalize(p);
  for (size_t i = 0; i < vector_.size(); i++) {
    const Platform& v = vector_[i];
    if (v.os == n.os && v.architecture == n.architecture && v.variant == n.variant) return i;
  }
  return std::nullopt;
}

}  // namespace kiln::registry
