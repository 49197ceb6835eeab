#pragma once
// The parts of an exec op that come from the client through the job's sessions (BuildKit's
// solver/llbsolver/mounts: secret and ssh mountables, and ops/exec.go loadSecretEnv):
// - secret mounts: the value is written to a file on a private tmpfs (so it never touches the
//   disk), owned uid:gid with the op's mode, and bound readonly at the destination;
// - ssh mounts: a forwarded agent socket (session::SSHForwarder) bound at the destination;
// - secret env: NAME=value pairs for the process.
// Optional and missing: skipped. Values never appear in errors or logs. See docs/dev/secrets.md.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executor/executor.h"
#include "pb/ops.pb.h"
#include "session/session.h"
#include "session/ssh_forward.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::llbsolver {

// Everything the secret and ssh mounts of one run hold. The destructor stops the forwarders,
// unmounts the tmpfs and removes its directory. Not copyable (it owns a mount). Not
// thread-safe.
class SessionMounts {
 public:
  // `sessions` may be null (no client: every secret is missing). The tmpfs directory is made
  // under `secrets_root` on the first secret.
  SessionMounts(session::Manager* sessions, std::vector<std::string> session_ids,
                std::string secrets_root)
      : sessions_(sessions),
        session_ids_(std::move(session_ids)),
        secrets_root_(std::move(secrets_root)) {}
  SessionMounts(const SessionMounts&) = delete;
  SessionMounts& operator=(const SessionMounts&) = delete;
  ~SessionMounts();

  // The bind mount of a SECRET mount at `dest`; nullopt when optional and not found. A
  // required missing secret is NotFound "secret <id>: not found".
  Result<std::optional<executor::MountSpec>> Secret(const Context& ctx, const pb::Mount& m,
                                                    const std::string& dest);
  // The bind mount of an SSH mount at `dest`; nullopt when optional and not forwarded.
  Result<std::optional<executor::MountSpec>> SSH(const Context& ctx, const pb::Mount& m,
                                                 const std::string& dest);

 private:
  Status EnsureTmpfs();

  session::Manager* sessions_;
  std::vector<std::string> session_ids_;
  std::string secrets_root_;
  std::string tmpfs_dir_;  // mounted when not empty
  int files_ = 0;
  std::vector<std::unique_ptr<session::SSHForwarder>> forwarders_;
};

// The exec op's secretenv as NAME=value entries, in order; an optional missing secret is left
// out. "secret ID missing for \"NAME\" environment variable" for an empty id.
Result<std::vector<std::string>> LoadSecretEnv(const Context& ctx, session::Manager* sessions,
                                               const std::vector<std::string>& session_ids,
                                               const pb::ExecOp& e);

}  // namespace kiln::llbsolver
