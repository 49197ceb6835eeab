#include "client/session.h"

#include <fcntl.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "client/auth_service.h"
#include "client/connection.h"
#include "client/content_service.h"
#include "client/filesync_service.h"
#include "client/health_service.h"
#include "client/id.h"
#include "client/ssh_service.h"
#include "session/grpc_status.h"
#include "util/log.h"

namespace kiln::client {

namespace {

// Most bytes a tunnel message carries. Go's side sends at most 32 KiB, but any size is fine
// for the receiver (the stream is unframed); more per message means fewer messages.
constexpr size_t kChunkSize = 256 * 1024;

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Session>> Session::Start(moby::buildkit::v1::Control::StubInterface* control,
                                                SessionConfig config) {
  std::unique_ptr<Session> s(new Session());
  Status st = s->Init(control, std::move(config));
  if (!st.ok()) return st;
  return s;
}

Status Session::Init(moby::buildkit::v1::Control::StubInterface* control, SessionConfig config) {
  id_ = config.id.empty() ? NewId() : config.id;

  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus(errno, "session socketpair");
  }
  pump_fd_ = fds[0];
  int server_fd = fds[1];
  // AddInsecureChannelFromFd does not make the fd non-blocking; without it the server's
  // reader blocks a poller thread forever (wire-protocol.md §7.2).
  int flags = fcntl(server_fd, F_GETFL);
  if (flags < 0 || fcntl(server_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    close(server_fd);
    return ErrnoStatus(err, "session socket O_NONBLOCK");
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    int err = errno;
    close(server_fd);
    return ErrnoStatus(err, "session eventfd");
  }

  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(kMaxMessageSize);
  builder.SetMaxSendMessageSize(kMaxMessageSize);
  services_.push_back(std::make_unique<HealthService>());
  methods_.push_back(kHealthCheck);
  if (!config.local_dirs.empty()) {
    services_.push_back(std::make_unique<FileSyncService>(config.local_dirs, ctx_));
    methods_.push_back(kFileSyncDiffCopy);
    if (config.batch_sync) {
      services_.push_back(std::make_unique<FileSyncBatchService>(config.local_dirs, ctx_));
      methods_.push_back(kFileSyncDiffCopyBatch);
    }
  }
  if (!config.export_targets.empty()) {
    services_.push_back(
        std::make_unique<FileSendService>(config.export_targets, ctx_, config.stdout_fd));
    methods_.push_back(kFileSendDiffCopy);
  }
  if (!config.content_stores.empty()) {
    ContentStoreService::Stores stores;
    for (const auto& [id, dir] : config.content_stores) {
      auto store = DirContentStore::Open(dir);
      if (!store.ok()) {
        close(server_fd);
        return store.status();
      }
      stores[id] = std::move(*store);
    }
    services_.push_back(std::make_unique<ContentStoreService>(std::move(stores)));
    methods_.insert(methods_.end(), kContentMethods.begin(), kContentMethods.end());
  }
  if (config.serve_auth) {
    std::string path = config.docker_config.empty()
                           ? DockerConfigPath([](const char* k) { return getenv(k); })
                           : config.docker_config;
    services_.push_back(
        std::make_unique<AuthService>(std::make_unique<DockerAuthProvider>(path), ctx_));
    methods_.push_back(kAuthCredentials);
  }
  if (config.secrets) {
    services_.push_back(std::make_unique<SecretsService>(std::move(*config.secrets)));
    methods_.push_back(kSecretsGetSecret);
  }
  if (!config.ssh_agents.empty()) {
    services_.push_back(std::make_unique<SSHService>(std::move(config.ssh_agents)));
    methods_.push_back(kSSHCheckAgent);
    methods_.push_back(kSSHForwardAgent);
  }
  for (auto& svc : services_) builder.RegisterService(svc.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    close(server_fd);
    return Internal("cannot start the session server");
  }
  grpc::AddInsecureChannelFromFd(server_.get(), server_fd);  // takes the fd

  client_ctx_.AddMetadata("x-docker-expose-session-uuid", id_);
  client_ctx_.AddMetadata("x-docker-expose-session-sharedkey", config.shared_key);
  client_ctx_.AddMetadata("x-docker-expose-session-name", config.name);
  for (const std::string& m : methods_) {
    client_ctx_.AddMetadata("x-docker-expose-session-grpc-method", m);
  }
  stream_ = control->Session(&client_ctx_);
  in_thread_ = std::thread([this] { PumpIn(); });
  out_thread_ = std::thread([this] { PumpOut(); });
  return Status::Ok();
}

Session::~Session() {
  Close().IgnoreError();
  if (pump_fd_ >= 0) close(pump_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Session::PumpIn() {
  moby::buildkit::v1::BytesMessage msg;
  bool socket_ok = true;
  while (stream_->Read(&msg)) {
    // Keep draining the stream after the socket broke, so the daemon's writes never stall.
    if (socket_ok) socket_ok = SendAll(pump_fd_, msg.data());
  }
  shutdown(pump_fd_, SHUT_WR);  // EOF of the stream is EOF of the pipe
}

void Session::PumpOut() {
  // Not zeroed: a fresh page costs a fault only once a read writes to it, and most messages
  // are small (zeroing all of it was an eighth of kilnctl's page faults in a cached build).
  auto buf = std::make_unique_for_overwrite<char[]>(kChunkSize);
  moby::buildkit::v1::BytesMessage msg;
  while (true) {
    pollfd pfds[2] = {{pump_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int r = poll(pfds, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfds[1].revents != 0) break;  // Close
    ssize_t n = read(pump_fd_, buf.get(), kChunkSize);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (n == 0) break;  // the session server went away
    msg.set_data(buf.get(), static_cast<size_t>(n));
    if (!stream_->Write(msg)) break;
  }
  stream_->WritesDone();
}

Status Session::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return close_status_;
    closed_ = true;
  }
  if (stream_ == nullptr) {  // Init failed before the session started
    if (server_ != nullptr) server_->Shutdown();
    return Status::Ok();
  }
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) log::Debug("session wake: {}", errno);
  out_thread_.join();
  // The build is over: nothing the daemon could still send matters, so the stream is cancelled
  // instead of waiting a round trip for the daemon to end it (BuildKit's daemon and ours both
  // end the session the same way either way).
  client_ctx_.TryCancel();
  in_thread_.join();
  grpc::Status fin = stream_->Finish();
  ctx_.Cancel(Cancelled("session closed"));
  // Nothing reaches the daemon any more: close the pipe both ways, so a service still writing
  // (a file sync cut off mid-transfer, blocked on flow control that can no longer move) fails
  // at once instead of holding the server's shutdown forever.
  shutdown(pump_fd_, SHUT_RDWR);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();

  Status st;
  if (!fin.ok() && fin.error_code() != grpc::StatusCode::CANCELLED &&
      fin.error_code() != grpc::StatusCode::UNAVAILABLE) {
    st = session::FromGrpcStatus(fin).Annotate("session");
  }
  std::lock_guard<std::mutex> lock(mu_);
  close_status_ = st;
  return st;
}

void Session::EndWithProcess(std::unique_ptr<Session> s) {
  // Never destroyed: reachable from a global, so a leak checker at exit does not report it.
  static auto* const kept = new std::vector<std::unique_ptr<Session>>;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  kept->push_back(std::move(s));
}

void Session::Abort() {
  ctx_.Cancel(Cancelled("build cancelled"));
  if (stream_ != nullptr) client_ctx_.TryCancel();
}

}  // namespace kiln::client
