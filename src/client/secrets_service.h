#pragma once
// moby.buildkit.secrets.v1.Secrets as kilnctl serves it in the session for --secret (BuildKit's
// secretsprovider): GetSecret{ID} answers the file's bytes or the variable's value, read when
// asked; NotFound "not found" for an id that was not given (the daemon then reports
// "secret <id>: not found"). Values are never logged. Thread-safe (read-only after New).

#include <map>
#include <string>
#include <vector>

#include "client/build_options.h"
#include "client/session_handlers.h"
#include "secrets/secrets.pb.h"

namespace kiln::client {

inline constexpr char kSecretsGetSecret[] = "/moby.buildkit.secrets.v1.Secrets/GetSecret";
// BuildKit's secretsprovider.MaxSecretSize.
inline constexpr size_t kMaxSecretSize = 500 * 1024;

// The --secret sources by id, checked as buildctl's NewStore checks them before the build:
// "secret missing ID"; neither src nor env: the variable named by the id when it is set, else
// the file named by it; a file must exist ("failed to stat <path>: ...") and be at most
// kMaxSecretSize ("secret <id> too big. max size 500KiB").
class SecretStore {
 public:
  static Result<SecretStore> New(const std::vector<SecretSource>& sources, const GetEnvFn& getenv);
  // NotFound "not found" for an unknown id; the file's read error otherwise.
  Result<std::string> Get(const std::string& id) const;
  bool empty() const { return sources_.empty(); }

 private:
  std::map<std::string, SecretSource> sources_;
  GetEnvFn getenv_;
};

class SecretsService final : public SessionService {
 public:
  explicit SecretsService(SecretStore store) : store_(std::move(store)) {}
  void Register(rpc::Handlers& handlers) override;

 private:
  const SecretStore store_;
};

}  // namespace kiln::client
