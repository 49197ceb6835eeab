#include "client/docker_auth.h"

#include "client/credential_helper.h"

namespace kiln::client {

Result<RegistryCredentials> DockerAuthProvider::Credentials(const Context& ctx,
                                                            const std::string& host) {
  const std::string key = DockerConfigKey(host);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = answers_.find(key); it != answers_.end()) return it->second;
  if (!config_) config_.emplace(LoadDockerConfig(path_));
  if (!config_->ok()) return config_->status();
  KILN_ASSIGN_OR_RETURN(RegistryCredentials creds, Lookup(ctx, **config_, key));
  answers_[key] = creds;
  return creds;
}

Result<RegistryCredentials> DockerAuthProvider::Lookup(const Context& ctx,
                                                       const DockerConfig& config,
                                                       const std::string& key) {
  if (std::string helper = CredentialHelperFor(config, key); !helper.empty()) {
    auto got = GetFromCredentialHelper(ctx, helper, key);
    if (!got.ok()) {
      if (ctx.cancelled()) return ctx.Err();
      const char* from = config.cred_helpers.contains(key) ? "credHelpers" : "credsStore";
      return got.status().Annotate(std::string(from) + " in " + config.path);
    }
    // A helper without an entry means none, whatever `auths` holds (docker's native store).
    if (!got->has_value()) return RegistryCredentials{};
    return RegistryCredentials{(*got)->username, (*got)->secret};
  }
  std::optional<DockerAuthEntry> e = FindAuthEntry(config, key);
  if (!e) return RegistryCredentials{};
  if (!e->identity_token.empty()) return RegistryCredentials{"", e->identity_token};
  return RegistryCredentials{e->username, e->password};
}

}  // namespace kiln::client
