#include "daemon/grpc_util.h"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::daemon {

namespace {

// The calls whose cancellation is watched, and the thread that polls them. Never destroyed:
// calls may still end while the process exits.
class CancelWatcher {
 public:
  static CancelWatcher& Get() {
    static auto* const w = new CancelWatcher();
    return *w;
  }

  void Add(const CallContext* call, grpc::ServerContext* sc, const Context& ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.emplace(call, Call{sc, ctx});
    if (calls_.size() == 1) cv_.notify_one();  // the watcher sleeps while there is none
  }
  void Remove(const CallContext* call) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(call);
  }

 private:
  struct Call {
    grpc::ServerContext* sc;
    Context ctx;
  };

  CancelWatcher() {
    std::thread([this] {
      pthread_setname_np(pthread_self(), "call_watcher");
      Run();
    }).detach();
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return !calls_.empty(); });
      std::vector<Context> cancelled;
      for (auto it = calls_.begin(); it != calls_.end();) {
        if (it->second.sc->IsCancelled()) {
          cancelled.push_back(it->second.ctx);
          it = calls_.erase(it);  // cancelled once
        } else {
          ++it;
        }
      }
      if (!cancelled.empty()) {
        lock.unlock();  // cancel callbacks may take time and register calls of their own
        for (const Context& c : cancelled) {
          c.Cancel(Cancelled("the client cancelled the request or went away"));
        }
        lock.lock();
      }
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<const CallContext*, Call> calls_;
};

}  // namespace

CallContext::CallContext(const Context& parent, grpc::ServerContext* sc) : ctx_(parent.Child()) {
  CancelWatcher::Get().Add(this, sc, ctx_);
}

CallContext::~CallContext() { CancelWatcher::Get().Remove(this); }

grpc::Status BuildErrorToGrpc(const Status& s) {
  switch (s.code()) {
    case Code::kOk:
    case Code::kCancelled:
    case Code::kDeadlineExceeded:
    case Code::kUnimplemented:
      return ToGrpc(s);
    default:
      break;
  }
  Status unknown(Code::kUnknown, s.message());
  unknown.mutable_details() = s.details();  // the code inside the typed details changes too
  return ToGrpc(unknown);
}

std::string Metadata(const grpc::ServerContext* sc, const std::string& key) {
  auto it = sc->client_metadata().find(key);
  if (it == sc->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace kiln::daemon
