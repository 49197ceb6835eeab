#pragma once
// The registry-credential parts of docker's config.json, read the way docker's CLI reads them
// (and so buildctl, whose auth provider uses docker's config package):
//   {"auths": {"127.0.0.1:5000": {"auth": "<base64 user:password>"},
//              "https://index.docker.io/v1/": {"username": "u", "password": "p"},
//              "myreg.example": {"identitytoken": "<refresh token>"}},
//    "credsStore": "pass", "credHelpers": {"gcr.io": "gcloud"}}
// `auth`, when set, replaces username/password; a bad `auth` makes the whole file invalid, as
// in docker. Field names match case-insensitively (Go's encoding/json); unknown fields are
// ignored. The file is $DOCKER_CONFIG/config.json, else ~/.docker/config.json; a missing file
// is an empty config. Value types; stateless functions.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln::client {

struct DockerAuthEntry {
  std::string username;
  std::string password;
  std::string identity_token;
  bool operator==(const DockerAuthEntry&) const = default;
};

struct DockerConfig {
  std::string path;  // where it was read from (for error messages)
  std::map<std::string, DockerAuthEntry> auths;
  std::string creds_store;                          // "docker-credential-<creds_store>"
  std::map<std::string, std::string> cred_helpers;  // config key -> helper
};

// The config key docker's config uses for Docker Hub.
inline constexpr char kDockerHubConfigKey[] = "https://index.docker.io/v1/";

// Parses config.json text; errors are InvalidArgument "<path>: <what is wrong>".
Result<DockerConfig> ParseDockerConfig(std::string_view json, const std::string& path);

// Reads and parses `path`; a missing file (or directory) gives an empty config.
Result<DockerConfig> LoadDockerConfig(const std::string& path);

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json (the passwd entry's home when
// HOME is unset). `getenv` is injected for tests.
std::string DockerConfigPath(const std::function<const char*(const char*)>& getenv);

// The config key for a registry host as the daemon names it: Docker Hub's hosts
// ("registry-1.docker.io", "docker.io", "index.docker.io") are kDockerHubConfigKey; any other
// host is its own key ("127.0.0.1:5000").
std::string DockerConfigKey(std::string_view host);

// The `auths` entry for a key: the exact key, else (docker's legacy rule) the first entry whose
// key, with "http(s)://" and any path removed, is `key` ("https://127.0.0.1:5000/v1/").
std::optional<DockerAuthEntry> FindAuthEntry(const DockerConfig& config, const std::string& key);

// The credential helper configured for a key: credHelpers[key], else credsStore; "" if none.
std::string CredentialHelperFor(const DockerConfig& config, const std::string& key);

}  // namespace kiln::client
