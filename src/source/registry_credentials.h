#pragma once
// The registry client's CredentialsFn for one job: asks the job's client sessions
// (session::GetCredentials) for the host the registry client is about to authenticate to.
// CredentialsFn cannot carry an error, so a session's error (a broken docker config, a
// credential helper missing on the client) goes to `on_error` and the request goes on
// anonymously, usually to fail with the registry's 401; the caller can add what on_error saw to
// that error. Cancelling `ctx` (the job's) makes the function answer nullopt at once.
// The returned function is thread-safe and may outlive the caller's copies of the arguments
// (it keeps its own); `sessions` must outlive it.

#include <functional>
#include <string>
#include <vector>

#include "registry/auth.h"
#include "session/auth.h"
#include "session/session.h"
#include "util/context.h"

namespace kiln::source {

// Called with the host and the session's error. Default (empty): a warning in the daemon log.
using CredentialsErrorFn = std::function<void(const std::string& host, const Status& error)>;

registry::CredentialsFn SessionCredentials(session::Manager* sessions,
                                           std::vector<std::string> session_ids, Context ctx,
                                           CredentialsErrorFn on_error = nullptr,
                                           session::CredentialsOptions opts = {});

}  // namespace kiln::source
