#pragma once
// Daemon side of BuildKit sessions (wire-protocol.md §4). A client opens Control/Session; the
// byte stream carries HTTP/2 on which the daemon is the gRPC *client* and calls back the services
// the client advertised (FileSync, FileSend, Auth, …). Sessions are kept by id; Solve and the
// sources look them up with a wait because the Session stream may arrive after Solve.
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace grpc {
class Channel;
}

namespace kiln::session {

// How the daemon asks a job's sessions for something (credentials, secrets, an ssh agent).
struct CallOptions {
  // How long to wait for each session of the job to attach (BuildKit's session.Any: 5 s).
  std::chrono::milliseconds attach_wait{std::chrono::seconds(5)};
  // Deadline of each call, so a client that never answers cannot hold the build.
  std::chrono::milliseconds call_timeout{std::chrono::seconds(10)};
};

// The Control/Session stream as a plain byte pipe; implemented by the daemon's gRPC handler.
class ByteTunnel {
 public:
  virtual ~ByteTunnel() = default;
  // Next chunk; false at end of stream.
  virtual bool Read(std::string* chunk) = 0;
  virtual bool Write(const std::string& chunk) = 0;
};

struct SessionHeaders {
  std::string id;
  std::string shared_key;
  std::string name;
  std::vector<std::string> methods;  // services the client serves
};

class Session {
 public:
  Session(SessionHeaders h, std::shared_ptr<grpc::Channel> ch, Context ctx);
  const std::string& id() const { return h_.id; }
  const std::string& shared_key() const { return h_.shared_key; }
  bool Supports(const std::string& method) const;
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // Cancelled when the client closes the session.
  const Context& context() const { return ctx_; }

  // Runs `fn` on a thread of its own: the end of a call whose result the caller no longer waits
  // for (the last packets of a file sync). The session's end (Manager::Serve) waits for every
  // such function, so `fn` must end promptly once context() is cancelled.
  void RunDetached(std::function<void()> fn);
  // Waits until every RunDetached function has returned.
  void WaitDetached();

 private:
  SessionHeaders h_;
  std::set<std::string> methods_lower_;
  std::shared_ptr<grpc::Channel> channel_;
  Context ctx_;
  // Shared with the functions, which may end after the session object is gone (one started
  // after WaitDetached, as the session ended, is not waited for: it ends with the session).
  struct Detached {
    std::mutex mu;
    std::condition_variable cv;
    int running = 0;  // guarded by mu
  };
  std::shared_ptr<Detached> detached_ = std::make_shared<Detached>();
};

class Manager {
 public:
  Manager() = default;
  // Runs one session until the client closes it (or ctx is cancelled).
  Status Serve(const Context& ctx, const SessionHeaders& h, ByteTunnel& tunnel);
  // The session `id`, waiting up to `wait` for it to attach.
  Result<std::shared_ptr<Session>> Get(const Context& ctx, const std::string& id,
                                       std::chrono::milliseconds wait = std::chrono::seconds(5));
  size_t active() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // guarded by mu_
};

}  // namespace kiln::session
