#include "registry/hosts.h"

namespace kiln::registry {

namespace {

bool IsDockerHub(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

}  // namespace

std::string Hosts::APIHost(std::string_view domain) {
  return IsDockerHub(domain) ? "registry-1.docker.io" : std::string(domain);
}

bool Hosts::IsLocalhost(std::string_view host) {
  if (host.starts_with("[")) return host.starts_with("[::1]");
  host = host.substr(0, host.find(':'));
  if (host == "localhost") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      dots++;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

bool Hosts::HasConfig(std::string_view host) const {
  if (config_.contains(std::string(host))) return true;
  if (!IsDockerHub(host)) return false;
  for (std::string_view alias : {"docker.io", "registry-1.docker.io", "index.docker.io"}) {
    if (config_.contains(std::string(alias))) return true;
  }
  return false;
}

HostConfig Hosts::Config(std::string_view host) const {
  if (auto it = config_.find(std::string(host)); it != config_.end()) return it->second;
  if (IsDockerHub(host)) {
    for (std::string_view alias : {"docker.io", "registry-1.docker.io", "index.docker.io"}) {
      if (auto it = config_.find(std::string(alias)); it != config_.end()) return it->second;
    }
  }
  return HostConfig();
}

Endpoint Hosts::Make(std::string_view host) const {
  HostConfig c = Config(host);
  Endpoint e;
  e.host = APIHost(host);
  bool http = c.http || (!HasConfig(host) && IsLocalhost(host));
  e.scheme = http ? "http" : "https";
  e.insecure = c.insecure;
  e.ca = c.ca;
  e.credentials = c.credentials;
  return e;
}

std::vector<Endpoint> Hosts::PullEndpoints(std::string_view domain) const {
  std::vector<Endpoint> out;
  for (std::string_view m : Config(domain).mirrors) {
    std::string scheme;
    if (m.starts_with("http://")) {
      scheme = "http";
      m.remove_prefix(7);
    } else if (m.starts_with("https://")) {
      scheme = "https";
      m.remove_prefix(8);
    }
    while (m.ends_with("/")) m.remove_suffix(1);
    size_t slash = m.find('/');
    std::string_view host = m.substr(0, slash);
    if (host.empty()) continue;
    Endpoint e = Make(host);
    e.mirror = true;
    if (!scheme.empty()) e.scheme = scheme;
    if (slash != std::string_view::npos) e.path = "/v2" + std::string(m.substr(slash));
    out.push_back(std::move(e));
  }
  out.push_back(Make(domain));
  return out;
}

std::vector<Endpoint> Hosts::PushEndpoints(std::string_view domain) const { return {Make(domain)}; }

}  // namespace kiln::registry
