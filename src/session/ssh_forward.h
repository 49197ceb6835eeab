#pragma once
// SSH agent forwarding from the client, through the session's moby.sshforward.v1.SSH service
// (wire-protocol.md §4.3), as BuildKit's session/sshforward does it for `--mount=type=ssh`:
// CheckAgent{ID} says whether the client forwards the agent `ID` (kilnctl's --ssh), and every
// connection to a unix socket the daemon makes becomes one ForwardAgent stream (metadata
// "buildkit.ssh.id": ID) whose bytes are copied both ways until either side closes.

#include <sys/types.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "session/session.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::session {

inline constexpr char kSSHCheckAgentMethod[] = "/moby.sshforward.v1.SSH/CheckAgent";
inline constexpr char kSSHForwardAgentMethod[] = "/moby.sshforward.v1.SSH/ForwardAgent";
inline constexpr char kSSHIDMetadataKey[] = "buildkit.ssh.id";
inline constexpr char kDefaultSSHID[] = "default";

// The first of the job's sessions whose client forwards the agent `id` ("" is "default").
// Errors as BuildKit's: "no SSH key \"<id>\" forwarded from the client" when a session does not
// serve SSH, else the client's own (kilnctl: "unset ssh forward key <id>"); the last session's
// error when none has it.
Result<std::shared_ptr<Session>> FindSSHAgent(const Context& ctx, Manager& sessions,
                                              const std::vector<std::string>& session_ids,
                                              const std::string& id, const CallOptions& opts = {});

struct SSHSocketOptions {
  std::string id;  // "" is "default"
  uid_t uid = 0;   // owner of the socket
  gid_t gid = 0;
  mode_t mode = 0600;    // permission bits of the socket
  std::string temp_dir;  // where the private dir is made; "" is $TMPDIR, else /tmp
};

// A unix socket in a private temp dir (0711) forwarding to the session's agent. The destructor
// closes the listener, cancels the open streams, closes their connections, joins every thread
// and removes the dir. Not copyable: it owns threads bound to `this`. Thread-safe.
class SSHForwarder {
 public:
  static Result<std::unique_ptr<SSHForwarder>> Start(std::shared_ptr<Session> session,
                                                     const SSHSocketOptions& opts);
  SSHForwarder(const SSHForwarder&) = delete;
  SSHForwarder& operator=(const SSHForwarder&) = delete;
  ~SSHForwarder();

  const std::string& socket_path() const { return socket_path_; }

 private:
  struct Conn;
  SSHForwarder() = default;
  void AcceptLoop();
  void Serve(Conn* c);
  void Reap(bool all);

  std::shared_ptr<Session> session_;
  std::string id_;
  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Conn>> conns_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
};

}  // namespace kiln::session
