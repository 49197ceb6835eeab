#pragma once
// The client side of a BuildKit session (wire-protocol.md §4.1-4.2, §7.3 mirrored).
//
// Start opens Control/Session with the session headers (uuid, shared key, name and one
// x-docker-expose-session-grpc-method per served method) as a tunnel of kiln's transport
// (rpc::Connection::StartTunnel): the stream's messages carry an HTTP/2 connection in which the
// daemon is the client and kilnctl serves, on the same connection and thread as its own calls.
// Served: grpc.health.v1.Health, FileSync.DiffCopy (and kiln's FileSync.DiffCopyBatch unless
// turned off) when there are --local dirs, FileSend.DiffCopy when an --output is written by the
// client, containerd's Content (content_service.h) when an --output is an OCI layout directory
// (tar=false), Auth.Credentials (registry credentials from docker's config, auth_service.h)
// always, as buildctl does, Secrets.GetSecret with --secret (secrets_service.h) and
// SSH.CheckAgent and ForwardAgent with --ssh (ssh_service.h).
//
// Close ends the session when the build is over: it half-closes the stream and resets it at
// once (buildctl waits for the daemon to end it, a round trip that changes nothing once Solve
// has returned), then waits for the served calls' handlers.
// Thread-safe; Close and Abort may race with each other.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/filesend_service.h"
#include "client/filesync_service.h"
#include "client/secrets_service.h"
#include "rpc/connection.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::client {

struct SessionConfig {
  std::string id;  // random when empty
  std::string name = "kilnctl";
  std::string shared_key;
  std::map<std::string, std::string> local_dirs;  // --local name -> host dir
  std::map<int, ExportTarget> export_targets;     // --output index -> where it goes
  // Content stores served by id (buildkit-attachable-store-id) -> directory, created when
  // missing; "export" for an oci/docker --output with tar=false.
  std::map<std::string, std::string> content_stores;
  int stdout_fd = 1;                              // for "-" file targets
  bool serve_auth = true;                         // serve Auth.Credentials
  // The docker config.json Auth reads; "" is $DOCKER_CONFIG/config.json or
  // ~/.docker/config.json, as found when the session starts.
  std::string docker_config;
  // --secret: Secrets.GetSecret is served when set; --ssh: SSH (id -> agent socket) when not
  // empty (buildctl attaches each only when its flag is given).
  std::optional<SecretStore> secrets;
  std::map<std::string, std::string> ssh_agents;
  // Also serve kiln's batched FileSync (docs/dev/filesync-batch.md) for the --local dirs;
  // kilnctl turns it off with KILN_NO_BATCH_SYNC=1 (a test knob).
  bool batch_sync = true;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> Start(rpc::Connection& conn, SessionConfig config);

  Session(const Session&) = delete;  // its services are bound to `this`
  Session& operator=(const Session&) = delete;
  ~Session();

  const std::string& id() const { return id_; }
  const std::vector<std::string>& methods() const { return methods_; }

  // Ends the session (see above). Returns the stream's final status; a daemon that drops the
  // stream at the end is not an error. Idempotent.
  Status Close();
  // Aborts running transfers and the stream without waiting (safe from a cancel callback);
  // Close must still be called.
  void Abort();
  // For a process about to exit once its build is over: `s` is kept, open, until the process
  // ends, which ends the stream for the daemon as a closed connection. Closing would wait a
  // round trip and for the served calls' handlers to stop. Nothing is lost: every transfer of the
  // build has ended by then.
  static void EndWithProcess(std::unique_ptr<Session> s);

 private:
  Session() = default;
  Status Init(rpc::Connection& conn, SessionConfig config);

  std::string id_;
  std::vector<std::string> methods_;
  Context ctx_ = Context::Background().Child();  // cancelled when transfers must stop
  std::vector<std::unique_ptr<SessionService>> services_;
  std::unique_ptr<rpc::Tunnel> tunnel_;

  std::mutex mu_;
  bool closed_ = false;   // guarded by mu_
  Status close_status_;   // guarded by mu_
};

}  // namespace kiln::client
