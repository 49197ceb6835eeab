#include "session/ssh_forward.h"

#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sshforward/ssh.grpc.pb.h"
#include "util/log.h"
#include "util/fd_io.h"

namespace kiln::session {

namespace sf = moby::sshforward::v1;

namespace {

constexpr size_t kChunkSize = 32 * 1024;  // what BuildKit's Copy reads per message

// One session's answer to CheckAgent{id}.
Status CheckAgent(const Context& ctx, Session& session, const std::string& id,
                  std::chrono::milliseconds timeout) {
  const std::string unsupported = "no SSH key \"" + id + "\" forwarded from the client";
  if (!session.Supports(kSSHCheckAgentMethod)) return NotFound(unsupported);
  grpc::ClientContext cc;
  cc.set_deadline(std::chrono::system_clock::now() + timeout);
  auto cancel = ctx.OnCancel([&cc](const Status&) { cc.TryCancel(); });
  auto cancel_session = session.context().OnCancel([&cc](const Status&) { cc.TryCancel(); });
  sf::CheckAgentRequest req;
  req.set_id(id);
  sf::CheckAgentResponse resp;
  grpc::Status gs = sf::SSH::NewStub(session.channel())->CheckAgent(&cc, req, &resp);
  if (ctx.cancelled()) return ctx.Err();
  if (gs.ok()) return Status::Ok();
  if (gs.error_code() == grpc::StatusCode::UNIMPLEMENTED) return NotFound(unsupported);
  if (session.context().cancelled()) {
    return Unavailable("ssh agent " + id + " from the client: the session closed");
  }
  return Status(static_cast<Code>(gs.error_code()), gs.error_message());
}

}  // namespace

Result<std::shared_ptr<Session>> FindSSHAgent(const Context& ctx, Manager& sessions,
                                              const std::vector<std::string>& session_ids,
                                              const std::string& id, const CallOptions& opts) {
  const std::string want = id.empty() ? kDefaultSSHID : id;
  Status last = NotFound("no SSH key \"" + want + "\" forwarded from the client");
  for (const std::string& sid : session_ids) {
    auto s = sessions.Get(ctx, sid, opts.attach_wait);
    if (ctx.cancelled()) return ctx.Err();
    if (!s.ok()) continue;
    Status st = CheckAgent(ctx, **s, want, opts.call_timeout);
    if (ctx.cancelled()) return ctx.Err();
    if (st.ok()) return *s;
    last = st;
  }
  return last;
}

struct SSHForwarder::Conn {
  int fd = -1;
  grpc::ClientContext cc;
  std::thread thread;
  std::atomic<bool> done{false};
};

Result<std::unique_ptr<SSHForwarder>> SSHForwarder::Start(std::shared_ptr<Session> session,
                                                          const SSHSocketOptions& opts) {
  std::unique_ptr<SSHForwarder> f(new SSHForwarder());  // its destructor undoes a partial start
  f->session_ = std::move(session);
  f->id_ = opts.id.empty() ? kDefaultSSHID : opts.id;
  std::string base = opts.temp_dir;
  if (base.empty()) {
    const char* t = getenv("TMPDIR");
    base = t != nullptr && *t != '\0' ? t : "/tmp";
  }
  std::string tmpl = base + "/kiln-ssh-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, "ssh socket dir in " + base);
  f->dir_ = tmpl;
  if (chmod(f->dir_.c_str(), 0711) != 0) return ErrnoStatus(errno, "chmod " + f->dir_);
  f->socket_path_ = f->dir_ + "/ssh_auth_sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (f->socket_path_.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("ssh socket path " + f->socket_path_ + " is too long");
  }
  std::memcpy(addr.sun_path, f->socket_path_.c_str(), f->socket_path_.size() + 1);
  f->listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (f->listen_fd_ < 0) return ErrnoStatus(errno, "ssh socket");
  if (bind(f->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(f->listen_fd_, 16) != 0) {
    return ErrnoStatus(errno, "listen on " + f->socket_path_);
  }
  if (chown(f->socket_path_.c_str(), opts.uid, opts.gid) != 0) {
    return ErrnoStatus(errno, "chown " + f->socket_path_);
  }
  if (chmod(f->socket_path_.c_str(), opts.mode & 0777) != 0) {
    return ErrnoStatus(errno, "chmod " + f->socket_path_);
  }
  f->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (f->wake_fd_ < 0) return ErrnoStatus(errno, "ssh forwarder eventfd");
  f->accept_thread_ = std::thread([p = f.get()] { p->AcceptLoop(); });
  return f;
}

SSHForwarder::~SSHForwarder() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  if (accept_thread_.joinable()) {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof(one)) < 0) log::Debug("ssh forwarder wake: {}", errno);
    accept_thread_.join();
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& c : conns_) {
      c->cc.TryCancel();  // also cancels a stream not started yet
      ::shutdown(c->fd, SHUT_RDWR);
    }
  }
  Reap(/*all=*/true);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
  if (!dir_.empty()) rmdir(dir_.c_str());
}

void SSHForwarder::AcceptLoop() {
  while (true) {
    pollfd pfds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(pfds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::Warn("ssh forwarder {}: poll: {}", socket_path_, std::strerror(errno));
      return;
    }
    if (pfds[1].revents != 0) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      log::Warn("ssh forwarder {}: accept: {}", socket_path_, std::strerror(errno));
      return;
    }
    Reap(/*all=*/false);
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->thread = std::thread([this, p = c.get()] { Serve(p); });
    conns_.push_back(std::move(c));
  }
}

void SSHForwarder::Serve(Conn* c) {
  c->cc.AddMetadata(kSSHIDMetadataKey, id_);
  auto stream = sf::SSH::NewStub(session_->channel())->ForwardAgent(&c->cc);
  // Agent -> connection; the end of the stream (or a broken connection) ends both directions.
  std::thread down([c, &stream] {
    sf::BytesMessage m;
    bool ok = true;
    while (stream->Read(&m)) {
      if (ok && !SendAll(c->fd, m.data())) {
        ok = false;
        c->cc.TryCancel();
      }
    }
    ::shutdown(c->fd, SHUT_RDWR);
  });
  // Connection -> agent, until the connection's EOF (then half-close, as BuildKit's Copy).
  std::string buf(kChunkSize, '\0');
  sf::BytesMessage m;
  while (true) {
    ssize_t n = ::read(c->fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    m.set_data(buf.data(), static_cast<size_t>(n));
    if (!stream->Write(m)) break;
  }
  stream->WritesDone();
  down.join();
  grpc::Status st = stream->Finish();
  if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    log::Debug("ssh forwarder {}: stream: {}", socket_path_, st.error_message());
  }
  c->done = true;
}

void SSHForwarder::Reap(bool all) {
  std::list<std::unique_ptr<Conn>> finished;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done) {
        finished.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) {
    c->thread.join();
    close(c->fd);
  }
}

}  // namespace kiln::session
