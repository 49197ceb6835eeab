#include "daemon/grpc_util.h"

namespace kiln::daemon {

CallContext::CallContext(const Context& parent, grpc::ServerContext* sc) : ctx_(parent.Child()) {
  Context c = ctx_;
  watcher_ = std::thread([this, sc, c] {
    while (!stop_.load()) {
      if (sc->IsCancelled()) {
        c.Cancel(Cancelled("the client cancelled the request or went away"));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

CallContext::~CallContext() {
  stop_ = true;
  watcher_.join();
}

std::string Metadata(const grpc::ServerContext* sc, const std::string& key) {
  auto it = sc->client_metadata().find(key);
  if (it == sc->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace kiln::daemon
