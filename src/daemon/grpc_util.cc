#include "daemon/grpc_util.h"

namespace kiln::daemon {

CallContext::CallContext(const Context& parent, grpc::ServerContext* sc) : ctx_(parent.Child()) {
  Context c = ctx_;
  watcher_ = CachedThread([this, sc, c] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (sc->IsCancelled()) {
        lock.unlock();
        c.Cancel(Cancelled("the client cancelled the request or went away"));
        return;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  });
}

CallContext::~CallContext() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  watcher_.join();
}

std::string Metadata(const grpc::ServerContext* sc, const std::string& key) {
  auto it = sc->client_metadata().find(key);
  if (it == sc->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace kiln::daemon
