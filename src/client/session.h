#pragma once
// The client side of a BuildKit session (wire-protocol.md §4.1-4.2, §7.3 mirrored).
//
// Start opens Control/Session with the session headers (uuid, shared key, name and one
// x-docker-expose-session-grpc-method per served method) and pumps the stream's bytes through
// one end of a socketpair; a grpc::Server without listening ports serves the other end
// (AddInsecureChannelFromFd, after making it non-blocking), so the daemon is the HTTP/2 client
// of kilnctl inside the tunnel. Served: grpc.health.v1.Health, FileSync.DiffCopy (and kiln's
// FileSync.DiffCopyBatch unless turned off) when there are --local dirs, FileSend.DiffCopy when
// an --output is written by the client, containerd's Content (content_service.h) when an
// --output is an OCI layout directory (tar=false), Auth.Credentials (registry credentials from
// docker's config, auth_service.h) always, as buildctl does, Secrets.GetSecret with --secret
// (secrets_service.h) and SSH.CheckAgent and ForwardAgent with --ssh (ssh_service.h).
//
// Close ends the session when the build is over: it half-closes the stream (WritesDone) and
// cancels it at once (buildctl waits for the daemon to end it, a round trip that changes
// nothing once Solve has returned), then stops the server.
// Thread-safe; Close and Abort may race with each other.

#include <grpcpp/client_context.h>
#include <grpcpp/server.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/filesend_service.h"
#include "client/secrets_service.h"
#include "control/control.grpc.pb.h"
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

inline constexpr char kFileSyncDiffCopy[] = "/moby.filesync.v1.FileSync/DiffCopy";
inline constexpr char kFileSyncDiffCopyBatch[] = "/kiln.filesync.v1.FileSync/DiffCopyBatch";

class Session {
 public:
  static Result<std::unique_ptr<Session>> Start(moby::buildkit::v1::Control::StubInterface* control,
                                                SessionConfig config);

  Session(const Session&) = delete;  // owns threads and a server bound to `this`
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
  // round trip and for the session's threads and server to stop (milliseconds, where a cached
  // build takes tens). Nothing is lost: every transfer of the build has ended by then.
  static void EndWithProcess(std::unique_ptr<Session> s);

 private:
  Session() = default;
  Status Init(moby::buildkit::v1::Control::StubInterface* control, SessionConfig config);
  void PumpIn();   // stream -> socket
  void PumpOut();  // socket -> stream

  std::string id_;
  std::vector<std::string> methods_;
  Context ctx_ = Context::Background().Child();  // cancelled when transfers must stop
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  grpc::ClientContext client_ctx_;
  std::unique_ptr<grpc::ClientReaderWriterInterface<moby::buildkit::v1::BytesMessage,
                                                    moby::buildkit::v1::BytesMessage>>
      stream_;
  int pump_fd_ = -1;  // our end of the socketpair
  int wake_fd_ = -1;  // eventfd that stops PumpOut
  std::thread in_thread_;
  std::thread out_thread_;

  std::mutex mu_;
  bool closed_ = false;   // guarded by mu_
  Status close_status_;   // guarded by mu_
};

}  // namespace kiln::client
