#pragma once
// kiln's own gRPC client transport (docs/dev/rpc.md): one HTTP/2 connection (nghttp2) to a
// daemon, driven by one thread, with blocking calls in the style of gRPC's sync API, and
// tunnels: a call whose messages (BytesMessage, field 1 bytes) carry a second HTTP/2 connection
// in which the daemon is the client and handlers given here serve it, as BuildKit's session
// does (wire-protocol.md §4.1). kilnctl uses it instead of gRPC C++, whose start-up (its
// threads, its core configuration, a second server for the session, the pumps between them)
// was most of a cached rebuild's fixed cost.
//
// Threading: every nghttp2 call runs under the connection's one mutex. Callers write to the
// socket themselves (non-blocking; the loop thread takes over what does not fit), so a call
// costs no thread hand-off on the way out; the loop thread reads the socket and wakes readers.
// Each served call runs its handler on a thread of its own. All classes are thread-safe except
// where noted; a Call or ServerCall has one reader and one writer at a time.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpc/wire.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::rpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

inline constexpr size_t kMaxMessageSize = 64 << 20;

struct CallOptions {
  Metadata metadata;  // lower-case keys; -bin values are encoded here
  std::optional<Clock::time_point> deadline;
};

struct Stream;
class Core;

// A client call. Destroying one that has not finished cancels it.
class Call {
 public:
  Call(std::shared_ptr<Core> core, std::shared_ptr<Stream> stream)
      : core_(std::move(core)), stream_(std::move(stream)) {}
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call();

  // False once the call is over (Finish says why). Blocks while more than a few MiB wait.
  bool Write(std::string_view message);
  void CloseSend();
  // The next response message; false at the end of them.
  bool Read(std::string* message);
  // Waits for the call's status.
  RpcStatus Finish();
  // Resets the call; Finish returns CANCELLED unless the status came first.
  void Cancel();

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<Stream> stream_;
};

// One call served in a tunnel, handed to its handler.
class ServerCall {
 public:
  ServerCall(std::shared_ptr<Core> core, std::shared_ptr<Stream> stream)
      : core_(std::move(core)), stream_(std::move(stream)) {}

  const std::string& method() const;
  // The request headers (pseudo-headers left out), in order.
  const Metadata& metadata() const;
  bool Read(std::string* message);
  bool Write(std::string_view message);
  // Cancelled when the client resets the call or the tunnel ends.
  const Context& context() const;
  bool cancelled() const { return context().cancelled(); }
  // Ends the call from the server's side at once (the handler should return soon after).
  void Cancel();

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<Stream> stream_;
};

using Handler = std::function<RpcStatus(ServerCall&)>;
using Handlers = std::map<std::string, Handler, std::less<>>;

// A call carrying an inner connection whose calls `handlers` serve.
class Tunnel {
 public:
  Tunnel(std::shared_ptr<Core> core, std::shared_ptr<Stream> stream)
      : core_(std::move(core)), stream_(std::move(stream)) {}
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;
  ~Tunnel();

  // Ends the tunnel: half-closes and resets the call, cancels the served calls and waits for
  // their handlers. Returns the call's status (CANCELLED when it had none). Idempotent.
  RpcStatus Close();
  // Resets the call and cancels the served calls without waiting (safe from a cancel callback).
  void Cancel();

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<Stream> stream_;
  bool closed_ = false;
  RpcStatus close_status_;
};

class Connection {
 public:
  // `address`: unix:///path, unix:path or tcp://host:port (client/connection.h checks them).
  // Connects at once; a daemon that does not answer is UNAVAILABLE here.
  static Result<std::unique_ptr<Connection>> Dial(std::string_view address);
  // Over a connected socket (tests); takes `fd`.
  static Result<std::unique_ptr<Connection>> FromFd(int fd);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Cancels what is still running, closes the socket and joins the connection's threads.
  ~Connection();

  std::unique_ptr<Call> StartCall(std::string_view path, const CallOptions& opts = {});
  // A call whose one request goes out with its headers, half-closed (unary and
  // server-streaming methods): one write to the socket.
  std::unique_ptr<Call> StartCall(std::string_view path, const CallOptions& opts,
                                  const std::string& request);
  std::unique_ptr<Tunnel> StartTunnel(std::string_view path, const CallOptions& opts,
                                      Handlers handlers);

 private:
  explicit Connection(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

// Serves `handlers` on a connected socket, kiln being the HTTP/2 server (tests drive the
// session's services with gRPC's own client this way). Takes `fd`.
class Server {
 public:
  static Result<std::unique_ptr<Server>> ServeFd(int fd, Handlers handlers);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Cancels the calls still running and joins their handlers.
  ~Server();

 private:
  explicit Server(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

}  // namespace kiln::rpc
