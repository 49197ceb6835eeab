#pragma once
// Per-registry settings, in the shape of buildkitd.toml's [registry."host"] tables, and the
// endpoints they give for a reference's domain. The daemon fills a Hosts from its config:
//   [registry."docker.io"]      mirrors = ["mirror.gcr.io"]
//   [registry."localhost:5000"] http = true
//   [registry."myreg.example"]  insecure = true, ca = ["/etc/kiln/myreg.pem"]
// plus credentials (username/password) where the daemon's config has them. "docker.io" (and
// "index.docker.io") is served by "registry-1.docker.io". Mirrors are "host[:port][/path]" and
// take their own http/insecure/ca settings from their own table. A host without a table that is
// localhost or a loopback address ("localhost:5000", "127.0.0.1:5000", "[::1]:5000") is spoken
// to over plain HTTP, as BuildKit does (containerd's MatchLocalhost). Value type; thread-compatible
// (build it once, then share it read-only).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::registry {

struct Credentials {
  std::string username;
  std::string secret;  // password or token
  bool operator==(const Credentials&) const = default;
};

struct HostConfig {
  bool http = false;                 // plain HTTP instead of HTTPS
  bool insecure = false;             // HTTPS without verifying the certificate
  std::vector<std::string> ca;       // extra CA certificate files (PEM), added to the system's
  std::vector<std::string> mirrors;  // tried first for pulls, in order
  std::optional<Credentials> credentials;
};

// One place to send registry API requests to.
struct Endpoint {
  std::string host;  // "registry-1.docker.io", "localhost:5000"
  std::string scheme = "https";
  std::string path = "/v2";  // the API root ("/v2/prefix" for a mirror with a path)
  bool insecure = false;
  std::vector<std::string> ca;
  bool mirror = false;
  std::optional<Credentials> credentials;  // from the daemon's config

  // "https://registry-1.docker.io/v2"
  std::string BaseURL() const { return scheme + "://" + host + path; }
};

class Hosts {
 public:
  Hosts() = default;
  explicit Hosts(std::map<std::string, HostConfig> config) : config_(std::move(config)) {}

  void Set(const std::string& host, HostConfig c) { config_[host] = std::move(c); }
  // The settings for a host ("docker.io", "registry-1.docker.io" and "index.docker.io" share
  // one table); defaults when there is none.
  HostConfig Config(std::string_view host) const;
  bool HasConfig(std::string_view host) const;

  // Endpoints for pulls from a reference's domain: its mirrors, then the registry itself.
  std::vector<Endpoint> PullEndpoints(std::string_view domain) const;
  // Endpoints for pushes: the registry itself only.
  std::vector<Endpoint> PushEndpoints(std::string_view domain) const;
  // The registry host serving a reference's domain ("docker.io" -> "registry-1.docker.io").
  static std::string APIHost(std::string_view domain);
  // localhost, 127.0.0.0/8 or ::1, with or without a port.
  static bool IsLocalhost(std::string_view host);

 private:
  Endpoint Make(std::string_view host) const;
  std::map<std::string, HostConfig> config_;
};

}  // namespace kiln::registry
