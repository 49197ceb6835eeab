#include "executor/etc_files.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <sstream>

namespace kiln::executor {
namespace {

struct Nameserver {
  std::string text;  // canonical form (and %zone)
  bool loopback = false;
};

// Parses an IP address as Go's netip does for nameservers; nullopt when invalid.
std::optional<Nameserver> ParseNameserver(const std::string& s) {
  std::string addr = s;
  std::string zone;
  size_t pct = s.find('%');
  if (pct != std::string::npos) {
    addr = s.substr(0, pct);
    zone = s.substr(pct);
  }
  char buf[INET6_ADDRSTRLEN];
  unsigned char raw[16];
  if (zone.empty() && inet_pton(AF_INET, addr.c_str(), raw) == 1) {
    inet_ntop(AF_INET, raw, buf, sizeof buf);
    return Nameserver{buf, raw[0] == 127};
  }
  if (inet_pton(AF_INET6, addr.c_str(), raw) == 1) {
    inet_ntop(AF_INET6, raw, buf, sizeof buf);
    static const unsigned char kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    bool mapped = true;
    for (int i = 0; i < 10; i++) mapped = mapped && raw[i] == 0;
    mapped = mapped && raw[10] == 0xff && raw[11] == 0xff;
    bool loop = std::equal(raw, raw + 16, kLoop6) || (mapped && raw[12] == 127);
    return Nameserver{std::string(buf) + zone, loop};
  }
  return std::nullopt;
}

std::vector<std::string> Fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

struct ParsedConf {
  std::vector<Nameserver> nameservers;
  std::vector<std::string> search;
  std::vector<std::string> options;
  std::vector<std::string> other;
};

ParsedConf Parse(const std::string& text) {
  ParsedConf rc;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    auto f = Fields(line);
    if (f.empty()) continue;
    if (f[0] == "nameserver") {
      if (f.size() < 2) continue;
      if (auto ns = ParseNameserver(f[1])) rc.nameservers.push_back(*ns);
    } else if (f[0] == "search" || f[0] == "domain") {
      if (f.size() < 2) continue;
      rc.search.assign(f.begin() + 1, f.end());  // the last one wins
    } else if (f[0] == "options") {
      rc.options.insert(rc.options.end(), f.begin() + 1, f.end());
    } else {
      rc.other.push_back(line);
    }
  }
  return rc;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); i++) {
    if (i > 0) out += ' ';
    out += v[i];
  }
  return out;
}

}  // namespace

std::string HostsFile(const std::string& hostname, const std::vector<HostIP>& extra_hosts) {
  std::string out = "127.0.0.1\tlocalhost " + (hostname.empty() ? kDefaultHostname : hostname);
  out += "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& h : extra_hosts) out += h.ip + "\t" + h.host + "\n";
  return out;
}

std::string ResolvConf(const std::string& host_conf, bool host_network) {
  ParsedConf rc = Parse(host_conf);
  if (!host_network || rc.nameservers.empty()) {
    std::vector<Nameserver> kept;
    for (auto& ns : rc.nameservers) {
      if (!ns.loopback) kept.push_back(ns);
    }
    if (kept.empty()) {
      for (const char* d : {"8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844"}) {
        kept.push_back({d, false});
      }
    }
    rc.nameservers = std::move(kept);
  }
  std::string out;
  for (auto& ns : rc.nameservers) out += "nameserver " + ns.text + "\n";
  if (!rc.search.empty()) out += "search " + Join(rc.search) + "\n";
  if (!rc.options.empty()) out += "options " + Join(rc.options) + "\n";
  for (auto& o : rc.other) out += o + "\n";
  return out;
}

std::string ResolvConfSourcePath(const std::string& etc_resolv_conf, bool host_network) {
  if (host_network) return "/etc/resolv.conf";
  ParsedConf rc = Parse(etc_resolv_conf);
  if (rc.nameservers.size() == 1 && rc.nameservers[0].text == "127.0.0.53") {
    return "/run/systemd/resolve/resolv.conf";
  }
  return "/etc/resolv.conf";
}

}  // namespace kiln::executor
