#include "session/session.h"

#include <fcntl.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "util/log.h"
#include "util/thread_cache.h"

namespace kiln::session {

namespace {
constexpr int kMaxMessage = 64 << 20;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}
}  // namespace

Session::Session(SessionHeaders h, std::shared_ptr<grpc::Channel> ch, Context ctx)
    : h_(std::move(h)), channel_(std::move(ch)), ctx_(std::move(ctx)) {
  for (const auto& m : h_.methods) methods_lower_.insert(Lower(m));
}

bool Session::Supports(const std::string& method) const { return methods_lower_.count(Lower(method)) > 0; }

void Session::RunDetached(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(detached_->mu);
    ++detached_->running;
  }
  RunOnThread([d = detached_, fn = std::move(fn)]() mutable {
    fn();
    fn = nullptr;  // what it holds goes before the session's end can be seen
    std::lock_guard<std::mutex> l(d->mu);
    if (--d->running == 0) d->cv.notify_all();
  });
}

void Session::WaitDetached() {
  std::unique_lock<std::mutex> l(detached_->mu);
  detached_->cv.wait(l, [d = detached_.get()] { return d->running == 0; });
}

Status Manager::Serve(const Context& ctx, const SessionHeaders& h, ByteTunnel& tunnel) {
  if (h.id.empty()) return InvalidArgument("session has no x-docker-expose-session-uuid header");
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus(errno, "session socketpair");
  }
  int ours = fds[0];
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessage);
  args.SetMaxSendMessageSize(kMaxMessage);
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "localhost");
  // The channel owns fds[1] from here on.
  auto channel = grpc::CreateCustomInsecureChannelFromFd("localhost", fds[1], args);

  // Client bytes -> channel.
  CachedThread in([&tunnel, ours] {
    std::string chunk;
    while (tunnel.Read(&chunk)) {
      if (!WriteAll(ours, chunk)) break;
    }
    ::shutdown(ours, SHUT_RDWR);
  });
  // Channel bytes -> client.
  CachedThread out([&tunnel, ours] {
    // Per tunnel message (the stream is unframed). Not zeroed: a page costs a fault only once
    // a read writes to it, and most messages are small.
    constexpr size_t kChunk = 256 * 1024;
    auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
    std::string chunk;
    for (;;) {
      ssize_t n = ::read(ours, buf.get(), kChunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      chunk.assign(buf.get(), static_cast<size_t>(n));
      if (!tunnel.Write(chunk)) break;
    }
  });

  Context sctx = ctx.Child();
  auto sess = std::make_shared<Session>(h, channel, sctx);
  {
    std::lock_guard<std::mutex> l(mu_);
    sessions_[h.id] = sess;
    cv_.notify_all();
  }
  log::Debug("session {} attached ({} methods)", h.id, h.methods.size());
  // A cancelled daemon context ends the session too.
  auto cancel_hook = ctx.OnCancel([ours](const Status&) { ::shutdown(ours, SHUT_RDWR); });
  in.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = sessions_.find(h.id);
    if (it != sessions_.end() && it->second == sess) sessions_.erase(it);
  }
  sctx.Cancel(Cancelled("session " + h.id + " closed"));
  sess->WaitDetached();
  out.join();
  cancel_hook.Reset();
  ::close(ours);
  log::Debug("session {} closed", h.id);
  return Status::Ok();
}

Result<std::shared_ptr<Session>> Manager::Get(const Context& ctx, const std::string& id,
                                              std::chrono::milliseconds wait) {
  if (id.empty()) return InvalidArgument("no session id given");
  bool woke = false;
  auto h = ctx.OnCancel([this, &woke](const Status&) {
    std::lock_guard<std::mutex> l(mu_);
    woke = true;
    cv_.notify_all();
  });
  std::unique_lock<std::mutex> l(mu_);
  bool found = cv_.wait_for(l, wait, [&] { return sessions_.count(id) > 0 || woke; });
  if (woke) {
    l.unlock();
    return ctx.Err();
  }
  if (!found) return NotFound("no active session for " + id + ": the client did not attach it");
  return sessions_.at(id);
}

size_t Manager::active() const {
  std::lock_guard<std::mutex> l(mu_);
  return sessions_.size();
}

}  // namespace kiln::session
