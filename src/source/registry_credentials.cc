#include "source/registry_credentials.h"

#include "util/log.h"

namespace kiln::source {

registry::CredentialsFn SessionCredentials(session::Manager* sessions,
                                           std::vector<std::string> session_ids, Context ctx,
                                           CredentialsErrorFn on_error,
                                           session::CredentialsOptions opts) {
  return
      [sessions, ids = std::move(session_ids), ctx = std::move(ctx), on_error = std::move(on_error),
       opts](const std::string& host) -> std::optional<registry::Credentials> {
        auto got = session::GetCredentials(ctx, *sessions, ids, host, opts);
        if (!got.ok()) {
          if (ctx.cancelled()) return std::nullopt;
          if (on_error) {
            on_error(host, got.status());
          } else {
            log::Warn("{}", got.status().message());
          }
          return std::nullopt;
        }
        if (!got->has_value()) return std::nullopt;
        return registry::Credentials{(*got)->username, (*got)->secret};
      };
}

}  // namespace kiln::source
