#pragma once
// Registry credentials from docker's config, answered the way buildctl's docker auth provider
// (BuildKit's session/auth/authprovider) answers the session's Auth.Credentials: the host the
// daemon names is mapped to its config key (Docker Hub's hosts to
// "https://index.docker.io/v1/"); a credential helper configured for it (credHelpers, else
// credsStore) is run, else the `auths` entry is used; an identity token is returned as the
// secret with no username. No entry is no credentials, not an error. The config file is read
// on first use, so a broken file fails the daemon's question, not kilnctl's start; answers are
// kept per key for the life of the provider. Thread-safe (lookups are serialised, as BuildKit
// does for helpers that misbehave when run concurrently).

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "client/docker_config.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::client {

struct RegistryCredentials {
  std::string username;  // "" with a secret: an identity token
  std::string secret;
  bool empty() const { return username.empty() && secret.empty(); }
  bool operator==(const RegistryCredentials&) const = default;
};

class DockerAuthProvider {
 public:
  // `config_path`: the config.json to read (see DockerConfigPath).
  explicit DockerAuthProvider(std::string config_path) : path_(std::move(config_path)) {}

  // Errors name the config file (and the helper, when one fails).
  Result<RegistryCredentials> Credentials(const Context& ctx, const std::string& host);

 private:
  Result<RegistryCredentials> Lookup(const Context& ctx, const DockerConfig& config,
                                     const std::string& key);

  const std::string path_;
  std::mutex mu_;
  std::optional<Result<DockerConfig>> config_;          // guarded by mu_; read on first use
  std::map<std::string, RegistryCredentials> answers_;  // guarded by mu_; by config key
};

}  // namespace kiln::client
