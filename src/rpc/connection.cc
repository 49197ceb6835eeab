#include "rpc/connection.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace kiln::rpc {

namespace {

constexpr int kUnknown = 2;
constexpr int kCancelled = 1;
constexpr int kDeadlineExceeded = 4;
constexpr int kResourceExhausted = 8;
constexpr int kUnimplemented = 12;
constexpr int kInternal = 13;
constexpr int kUnavailable = 14;

// A writer waits while more than this is queued on its stream.
constexpr size_t kMaxPending = 4 << 20;
// Bytes of HTTP/2 frames kept ready for the socket before nghttp2 is asked for more.
constexpr size_t kWriteHighWater = 1 << 20;
// Most bytes of the inner connection one tunnel message carries.
constexpr size_t kTunnelChunk = 256 * 1024;
constexpr size_t kReadBuffer = 256 * 1024;
// Flow-control windows kiln offers: the outer connection's are large and opened as data
// arrives (tunnelled data is bounded by the inner connection's windows, opened as handlers
// read).
constexpr int32_t kOuterStreamWindow = 16 << 20;
constexpr int32_t kOuterConnWindow = 64 << 20;
constexpr int32_t kInnerStreamWindow = 4 << 20;
constexpr int32_t kInnerConnWindow = 16 << 20;

}  // namespace

struct Inner;

struct Side {
  Core* core = nullptr;
  Inner* inner = nullptr;  // null for the outer connection
};

struct Stream {
  nghttp2_session* session = nullptr;
  int32_t id = -1;
  bool server = false;
  std::string method;
  Metadata headers;
  int http_status = 0;
  MessageReader reader{kMaxMessageSize};
  std::deque<std::string> in;
  size_t unconsumed = 0;  // received bytes not yet given back to the peer's window (inner)
  bool in_closed = false;
  std::string out;
  size_t out_off = 0;
  bool out_closed = false;
  bool deferred = false;
  bool submitted = false;
  std::optional<RpcStatus> trailers;  // server: sent after the data
  bool trailers_sent = false;
  bool done = false;
  bool have_status = false;
  RpcStatus status;
  std::optional<Clock::time_point> deadline;
  std::condition_variable cv;
  Context ctx = Context::Background();  // server: cancelled when the call ends early
  std::shared_ptr<Inner> tunnel;        // a client stream carrying an inner connection

  size_t pending() const { return out.size() - out_off; }
};

struct HandlerThread {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> finished;
};

struct Inner {
  ~Inner() {
    if (session != nullptr) nghttp2_session_del(session);
  }
  Side side;
  nghttp2_session* session = nullptr;
  Handlers handlers;
  Context ctx = Context::Background().Child();
  Stream* outer = nullptr;  // owned by the Core's live map while the call runs
  bool direct = false;      // served on the socket itself (Server), not in a tunnel
  bool ended = false;
  std::map<Stream*, std::shared_ptr<Stream>> live;
  std::vector<HandlerThread> threads;
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) { side_.core = this; }
  ~Core();
  // A client connection, or with `serve` a server of those handlers on the socket.
  Status Init(std::optional<Handlers> serve);

  std::shared_ptr<Stream> Start(std::string_view path, const CallOptions& opts,
                                const std::string* first, bool close_send,
                                std::shared_ptr<Inner> tunnel);
  std::shared_ptr<Inner> NewInner(Handlers handlers, Status* err);
  bool Write(Stream& st, std::string_view message);
  void CloseSend(Stream& st);
  bool Read(Stream& st, std::string* message);
  RpcStatus Finish(Stream& st);
  void Cancel(Stream& st, RpcStatus why);
  void FinishServer(Stream& st, RpcStatus s);
  void CancelServer(Stream& st);
  std::vector<HandlerThread> TakeThreads(Inner& in);
  void Shutdown();

  // nghttp2 callbacks.
  static int OnBeginHeaders(nghttp2_session* s, const nghttp2_frame* f, void* ud);
  static int OnHeader(nghttp2_session* s, const nghttp2_frame* f, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* ud);
  static int OnFrameRecv(nghttp2_session* s, const nghttp2_frame* f, void* ud);
  static int OnDataChunk(nghttp2_session* s, uint8_t flags, int32_t id, const uint8_t* data,
                         size_t len, void* ud);
  static int OnStreamClose(nghttp2_session* s, int32_t id, uint32_t error_code, void* ud);
  static ssize_t ReadData(nghttp2_session* s, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* src, void* ud);

 private:
  void Run();
  void Flush();
  bool PumpInner(Inner& in);
  void WriteOut();
  void Wake();
  void Fail(const std::string& reason);
  void CancelLocked(Stream& st, RpcStatus why);
  void EndTunnel(Inner& in, const std::string& why);
  void Resume(Stream& st);
  void SubmitResponse(Stream& st);
  void FeedTunnel(Inner& in, const std::string& message);
  void Dispatch(Inner& in, const std::shared_ptr<Stream>& st);
  int PollTimeout();
  void ExpireDeadlines();

  // Holds mu_; contexts cancelled meanwhile are cancelled once it is released, so that their
  // callbacks may call back into the connection.
  class Guard {
   public:
    explicit Guard(Core* core) : core_(core), lock(core->mu_) {}
    ~Guard() {
      if (core_->to_cancel_.empty()) return;
      auto pending = std::move(core_->to_cancel_);
      core_->to_cancel_.clear();
      lock.unlock();
      for (auto& [ctx, cause] : pending) ctx.Cancel(cause);
    }
    Core* core_;
    std::unique_lock<std::mutex> lock;
  };
  void CancelContext(const Context& ctx, Status cause) {
    to_cancel_.emplace_back(ctx, std::move(cause));
  }

  std::mutex mu_;
  std::vector<std::pair<Context, Status>> to_cancel_;  // guarded by mu_
  int fd_;
  int wake_fd_;
  Side side_;
  nghttp2_session* session_ = nullptr;  // the client session; null for a Server
  std::shared_ptr<Inner> direct_;       // a Server's session
  std::map<Stream*, std::shared_ptr<Stream>> live_;
  std::vector<std::shared_ptr<Inner>> tunnels_;
  std::string wbuf_;
  size_t woff_ = 0;
  bool dead_ = false;
  std::string dead_reason_;
  bool stopping_ = false;
  std::thread loop_;
  std::thread::id loop_id_;

  friend class Connection;
};

namespace {

nghttp2_session_callbacks* Callbacks() {
  static nghttp2_session_callbacks* const cbs = [] {
    nghttp2_session_callbacks* c = nullptr;
    nghttp2_session_callbacks_new(&c);
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, &Core::OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(c, &Core::OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, &Core::OnFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &Core::OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, &Core::OnStreamClose);
    return c;
  }();
  return cbs;
}

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

nghttp2_data_provider Provider(Stream* st) {
  nghttp2_data_provider prd;
  prd.source.ptr = st;
  prd.read_callback = &Core::ReadData;
  return prd;
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool ReadVarint(std::string_view& in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    *v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// The data fields of a BytesMessage (field 1, bytes); other fields are skipped.
bool ForEachBytesField(std::string_view msg, const std::function<bool(std::string_view)>& fn) {
  while (!msg.empty()) {
    uint64_t tag = 0;
    if (!ReadVarint(msg, &tag)) return false;
    uint64_t len = 0;
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(msg, &len)) return false;
        break;
      case 1:
        if (msg.size() < 8) return false;
        msg.remove_prefix(8);
        break;
      case 5:
        if (msg.size() < 4) return false;
        msg.remove_prefix(4);
        break;
      case 2:
        if (!ReadVarint(msg, &len) || len > msg.size()) return false;
        if ((tag >> 3) == 1 && !fn(msg.substr(0, len))) return false;
        msg.remove_prefix(len);
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

Core::~Core() {
  if (session_ != nullptr) nghttp2_session_del(session_);
  if (fd_ >= 0) close(fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status Core::Init(std::optional<Handlers> serve) {
  if (serve) {
    Status err;
    direct_ = NewInner(std::move(*serve), &err);
    if (direct_ == nullptr) return err;
    direct_->direct = true;
    tunnels_.push_back(direct_);
    {
      Guard guard(this);
      Flush();
    }
    loop_ = std::thread([this] { Run(); });
    return Status::Ok();
  }
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  int rv = nghttp2_session_client_new2(&session_, Callbacks(), &side_, opt);
  nghttp2_option_del(opt);
  if (rv != 0) return Internal(fmt::format("http2 session: {}", nghttp2_strerror(rv)));
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kOuterStreamWindow}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, std::size(iv));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kOuterConnWindow);
  {
    Guard guard(this);
    Flush();  // the preface and settings go out with the first call
  }
  loop_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Core::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  (void)n;
}

int Core::PollTimeout() {
  std::optional<Clock::time_point> next;
  for (const auto& [p, st] : live_) {
    if (st->deadline && !st->done && (!next || *st->deadline < *next)) next = st->deadline;
  }
  if (!next) return -1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms + 1, 0, 60000));
}

void Core::ExpireDeadlines() {
  auto now = Clock::now();
  std::vector<std::shared_ptr<Stream>> expired;
  for (const auto& [p, st] : live_) {
    if (st->deadline && !st->done && *st->deadline <= now) expired.push_back(st);
  }
  for (auto& st : expired) CancelLocked(*st, {kDeadlineExceeded, "Deadline Exceeded", ""});
}

void Core::Run() {
  loop_id_ = std::this_thread::get_id();
  auto buf = std::make_unique_for_overwrite<uint8_t[]>(kReadBuffer);
  while (true) {
    pollfd pfds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int timeout = -1;
    {
      Guard guard(this);
      if (stopping_) return;
      if (dead_) pfds[0].fd = -1;
      if (woff_ < wbuf_.size()) pfds[0].events |= POLLOUT;
      timeout = PollTimeout();
    }
    int r = poll(pfds, 2, timeout);
    if (r < 0 && errno != EINTR) {
      Guard guard(this);
      Fail(fmt::format("poll: {}", strerror(errno)));
      continue;
    }
    if (r > 0 && pfds[1].revents != 0) {
      uint64_t v = 0;
      ssize_t n = read(wake_fd_, &v, sizeof(v));
      (void)n;
    }
    ssize_t n = -1;
    int read_errno = 0;
    if (r > 0 && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      n = read(fd_, buf.get(), kReadBuffer);
      if (n < 0) read_errno = errno;
    }
    Guard guard(this);
    if (stopping_) return;
    if (dead_) continue;
    if (r > 0 && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (n > 0) {
        ssize_t rv = nghttp2_session_mem_recv(direct_ ? direct_->session : session_, buf.get(),
                                              static_cast<size_t>(n));
        if (rv < 0) {
          Fail(fmt::format("http2 error: {}", nghttp2_strerror(static_cast<int>(rv))));
          continue;
        }
      } else if (n == 0) {
        Fail("the daemon closed the connection");
        continue;
      } else if (read_errno != EAGAIN && read_errno != EINTR) {
        Fail(fmt::format("reading from the daemon: {}", strerror(read_errno)));
        continue;
      }
    }
    ExpireDeadlines();
    Flush();
    if (!dead_ && session_ != nullptr && nghttp2_session_want_read(session_) == 0 &&
        nghttp2_session_want_write(session_) == 0) {
      Fail("the daemon closed the connection");
    }
  }
}

void Core::Fail(const std::string& reason) {
  if (dead_) return;
  dead_ = true;
  dead_reason_ = reason;
  // The peer sees the connection end (a gRPC server waits for that after its GOAWAY).
  ::shutdown(fd_, SHUT_RDWR);
  if (direct_) EndTunnel(*direct_, reason);
  auto live = std::move(live_);
  live_.clear();
  for (auto& [p, st] : live) {
    if (!st->have_status) {
      st->status = {kUnavailable, reason, ""};
      st->have_status = true;
    }
    st->done = true;
    st->in_closed = true;
    if (st->tunnel) EndTunnel(*st->tunnel, reason);
    st->cv.notify_all();
  }
}

void Core::EndTunnel(Inner& in, const std::string& why) {
  if (in.ended) return;
  in.ended = true;
  CancelContext(in.ctx, Cancelled(fmt::format("session ended: {}", why)));
  for (auto& [p, st] : in.live) {
    st->done = true;
    st->in_closed = true;
    if (!st->trailers_sent) CancelContext(st->ctx, Cancelled("session ended"));
    st->cv.notify_all();
  }
  in.live.clear();
}

void Core::WriteOut() {
  while (woff_ < wbuf_.size()) {
    ssize_t n = send(fd_, wbuf_.data() + woff_, wbuf_.size() - woff_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (std::this_thread::get_id() != loop_id_) Wake();  // the loop polls for POLLOUT
        return;
      }
      Fail(fmt::format("writing to the daemon: {}", strerror(errno)));
      return;
    }
    woff_ += static_cast<size_t>(n);
  }
  wbuf_.clear();
  woff_ = 0;
}

bool Core::PumpInner(Inner& in) {
  if (in.direct) {
    bool moved = false;
    while (!in.ended && wbuf_.size() - woff_ < kWriteHighWater) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(in.session, &data);
      if (n < 0) {
        Fail(fmt::format("http2 error: {}", nghttp2_strerror(static_cast<int>(n))));
        break;
      }
      if (n == 0) break;
      wbuf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      moved = true;
    }
    return moved;
  }
  if (in.ended || in.outer == nullptr || in.outer->done) return false;
  Stream& outer = *in.outer;
  bool moved = false;
  std::string chunk;
  auto emit = [&] {
    // A BytesMessage written in place: field 1 (data), length-delimited.
    std::string head(1, '\x0a');
    AppendVarint(head, chunk.size());
    AppendMessagePrefix(outer.out, head.size() + chunk.size());
    outer.out += head;
    outer.out += chunk;
    chunk.clear();
    moved = true;
  };
  while (outer.pending() < kMaxPending) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(in.session, &data);
    if (n < 0) {
      EndTunnel(in, fmt::format("http2 error: {}", nghttp2_strerror(static_cast<int>(n))));
      CancelLocked(outer, {kInternal, "session tunnel failed", ""});
      return moved;
    }
    if (n == 0) break;
    chunk.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    if (chunk.size() >= kTunnelChunk) emit();
  }
  if (!chunk.empty()) emit();
  if (moved) Resume(outer);
  return moved;
}

void Core::Flush() {
  if (dead_) return;
  for (int round = 0; round < 64; ++round) {
    bool moved = false;
    for (auto& in : tunnels_) moved |= PumpInner(*in);
    while (session_ != nullptr && wbuf_.size() - woff_ < kWriteHighWater) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        Fail(fmt::format("http2 error: {}", nghttp2_strerror(static_cast<int>(n))));
        return;
      }
      if (n == 0) break;
      wbuf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    WriteOut();
    if (!moved || dead_ || woff_ < wbuf_.size()) break;
  }
}

void Core::Resume(Stream& st) {
  if (st.deferred && !st.done) {
    st.deferred = false;
    nghttp2_session_resume_data(st.session, st.id);
  }
}

void Core::SubmitResponse(Stream& st) {
  static const std::string kStatus = ":status", k200 = "200", kType = "content-type",
                           kGrpc = "application/grpc";
  nghttp2_nv nva[] = {Nv(kStatus, k200), Nv(kType, kGrpc)};
  nghttp2_data_provider prd = Provider(&st);
  st.submitted = true;
  nghttp2_submit_response(st.session, st.id, nva, std::size(nva), &prd);
}

std::shared_ptr<Stream> Core::Start(std::string_view path, const CallOptions& opts,
                                    const std::string* first, bool close_send,
                                    std::shared_ptr<Inner> tunnel) {
  auto st = std::make_shared<Stream>();
  st->method = std::string(path);
  st->deadline = opts.deadline;
  st->tunnel = std::move(tunnel);
  if (first != nullptr) AppendMessage(st->out, *first);
  st->out_closed = close_send;

  static const std::string kMethod = ":method", kPost = "POST", kScheme = ":scheme", kHttp = "http",
                           kPath = ":path", kAuthority = ":authority", kLocalhost = "localhost",
                           kType = "content-type", kGrpc = "application/grpc", kTe = "te",
                           kTrailers = "trailers", kAgent = "user-agent", kKiln = "kiln-rpc",
                           kTimeout = "grpc-timeout";
  std::string timeout;
  std::vector<nghttp2_nv> nva = {
      Nv(kMethod, kPost), Nv(kScheme, kHttp), Nv(kPath, st->method), Nv(kAuthority, kLocalhost),
      Nv(kType, kGrpc),   Nv(kTe, kTrailers), Nv(kAgent, kKiln)};
  if (opts.deadline) {
    timeout = TimeoutHeader(
        std::chrono::duration_cast<std::chrono::milliseconds>(*opts.deadline - Clock::now())
            .count());
    nva.push_back(Nv(kTimeout, timeout));
  }
  for (const auto& [k, v] : opts.metadata) nva.push_back(Nv(k, v));

  Guard guard(this);
  if (dead_) {
    st->done = st->in_closed = st->have_status = true;
    st->status = {kUnavailable, dead_reason_, ""};
    return st;
  }
  st->session = session_;
  nghttp2_data_provider prd = Provider(st.get());
  int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &prd, st.get());
  if (id < 0) {
    st->done = st->in_closed = st->have_status = true;
    st->status = {kUnavailable, fmt::format("cannot start the call: {}", nghttp2_strerror(id)), ""};
    return st;
  }
  st->id = id;
  st->submitted = true;
  live_[st.get()] = st;
  if (st->tunnel) {
    st->tunnel->outer = st.get();
    tunnels_.push_back(st->tunnel);
  }
  Flush();
  return st;
}

std::shared_ptr<Inner> Core::NewInner(Handlers handlers, Status* err) {
  auto in = std::make_shared<Inner>();
  in->side.core = this;
  in->side.inner = in.get();
  in->handlers = std::move(handlers);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  int rv = nghttp2_session_server_new2(&in->session, Callbacks(), &in->side, opt);
  nghttp2_option_del(opt);
  if (rv != 0) {
    *err = Internal(fmt::format("http2 session: {}", nghttp2_strerror(rv)));
    return nullptr;
  }
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kInnerStreamWindow}};
  nghttp2_submit_settings(in->session, NGHTTP2_FLAG_NONE, iv, std::size(iv));
  nghttp2_session_set_local_window_size(in->session, NGHTTP2_FLAG_NONE, 0, kInnerConnWindow);
  return in;
}

bool Core::Write(Stream& st, std::string_view message) {
  Guard guard(this);
  if (st.done || st.out_closed || dead_) return false;
  if (st.server && !st.submitted) SubmitResponse(st);
  AppendMessage(st.out, message);
  Resume(st);
  Flush();
  st.cv.wait(guard.lock, [&] { return st.done || st.pending() <= kMaxPending; });
  return !st.done;
}

void Core::CloseSend(Stream& st) {
  Guard guard(this);
  if (st.done || st.out_closed) return;
  st.out_closed = true;
  Resume(st);
  Flush();
}

bool Core::Read(Stream& st, std::string* message) {
  Guard guard(this);
  st.cv.wait(guard.lock, [&] { return !st.in.empty() || st.in_closed || st.done; });
  if (st.in.empty()) return false;
  *message = std::move(st.in.front());
  st.in.pop_front();
  if (st.server && st.unconsumed > 0 && !st.done) {
    size_t n = std::min(st.unconsumed, message->size() + kMessagePrefix);
    st.unconsumed -= n;
    nghttp2_session_consume(st.session, st.id, n);
    Flush();
  }
  return true;
}

RpcStatus Core::Finish(Stream& st) {
  Guard guard(this);
  st.cv.wait(guard.lock, [&] { return st.done; });
  return st.status;
}

void Core::CancelLocked(Stream& st, RpcStatus why) {
  if (st.done) return;
  if (!st.have_status) {
    st.status = std::move(why);
    st.have_status = true;
  }
  st.done = true;
  st.in_closed = true;
  st.in.clear();
  if (st.id > 0 && !dead_)
    nghttp2_submit_rst_stream(st.session, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_CANCEL);
  if (st.tunnel) EndTunnel(*st.tunnel, "cancelled");
  st.cv.notify_all();
}

void Core::Cancel(Stream& st, RpcStatus why) {
  Guard guard(this);
  CancelLocked(st, std::move(why));
  Flush();
}

void Core::FinishServer(Stream& st, RpcStatus s) {
  Guard guard(this);
  if (st.done || st.trailers) return;
  st.trailers = std::move(s);
  st.out_closed = true;
  if (!st.submitted) {
    SubmitResponse(st);
  } else {
    Resume(st);
  }
  Flush();
}

void Core::CancelServer(Stream& st) {
  Guard guard(this);
  if (st.done) return;
  st.done = true;
  st.in_closed = true;
  st.in.clear();
  CancelContext(st.ctx, Cancelled("call cancelled by the server"));
  nghttp2_submit_rst_stream(st.session, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_CANCEL);
  st.cv.notify_all();
  Flush();
}

std::vector<HandlerThread> Core::TakeThreads(Inner& in) {
  Guard guard(this);
  return std::move(in.threads);
}

void Core::Shutdown() {
  std::vector<HandlerThread> threads;
  {
    Guard guard(this);
    if (stopping_) return;
    for (auto& [p, st] : live_) CancelLocked(*st, {kCancelled, "connection closed", ""});
    Flush();
    Fail("connection closed");
    stopping_ = true;
    for (auto& in : tunnels_) {
      for (auto& t : in->threads) threads.push_back(std::move(t));
      in->threads.clear();
    }
  }
  Wake();
  if (loop_.joinable()) loop_.join();
  for (auto& t : threads) t.thread.join();
}

void Core::Dispatch(Inner& in, const std::shared_ptr<Stream>& st) {
  auto h = in.handlers.find(st->method);
  if (h == in.handlers.end()) {
    st->trailers = RpcStatus{kUnimplemented, fmt::format("unknown method {}", st->method), ""};
    st->out_closed = true;
    SubmitResponse(*st);
    return;
  }
  // Threads whose handlers are over are joined here, so a long session keeps few.
  std::erase_if(in.threads, [](HandlerThread& t) {
    if (!t.finished->load()) return false;
    t.thread.join();
    return true;
  });
  auto finished = std::make_shared<std::atomic<bool>>(false);
  Handler handler = h->second;
  std::shared_ptr<Core> self = shared_from_this();
  in.threads.push_back({std::thread([self, st, handler, finished] {
                          ServerCall call(self, st);
                          RpcStatus s = handler(call);
                          self->FinishServer(*st, std::move(s));
                          finished->store(true);
                        }),
                        finished});
}

void Core::FeedTunnel(Inner& in, const std::string& message) {
  if (in.ended) return;
  bool ok = ForEachBytesField(message, [&](std::string_view data) {
    ssize_t rv = nghttp2_session_mem_recv(in.session, reinterpret_cast<const uint8_t*>(data.data()),
                                          data.size());
    if (rv < 0) {
      EndTunnel(in, fmt::format("http2 error: {}", nghttp2_strerror(static_cast<int>(rv))));
      return false;
    }
    return true;
  });
  if (!ok) {
    EndTunnel(in, "invalid session message");
    if (in.outer != nullptr) CancelLocked(*in.outer, {kInternal, "session tunnel failed", ""});
  }
}

// --- nghttp2 callbacks (run under mu_, inside mem_recv or mem_send) ---

int Core::OnBeginHeaders(nghttp2_session* s, const nghttp2_frame* f, void* ud) {
  auto* side = static_cast<Side*>(ud);
  if (side->inner == nullptr || f->hd.type != NGHTTP2_HEADERS ||
      f->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  Inner& in = *side->inner;
  auto st = std::make_shared<Stream>();
  st->session = s;
  st->id = f->hd.stream_id;
  st->server = true;
  st->ctx = in.ctx.Child();
  in.live[st.get()] = st;
  nghttp2_session_set_stream_user_data(s, st->id, st.get());
  return 0;
}

int Core::OnHeader(nghttp2_session* s, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
                   const uint8_t* value, size_t valuelen, uint8_t /*flags*/, void* /*ud*/) {
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(s, f->hd.stream_id));
  if (st == nullptr) return 0;
  std::string_view k(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (st->server) {
    if (k == ":path") {
      st->method = std::string(v);
    } else if (k == "grpc-timeout") {
      if (int64_t ms = ParseTimeoutHeader(v); ms >= 0) {
        st->ctx = st->ctx.WithDeadline(Clock::now() + std::chrono::milliseconds(ms));
      }
    } else if (!k.starts_with(":")) {
      st->headers.emplace_back(k, v);
    }
    return 0;
  }
  if (k == ":status") {
    st->http_status = std::atoi(std::string(v).c_str());
  } else if (k == "grpc-status") {
    st->status.code = std::atoi(std::string(v).c_str());
    st->have_status = true;
  } else if (k == "grpc-message") {
    st->status.message = PercentDecode(v);
  } else if (k == "grpc-status-details-bin") {
    if (!DecodeBinaryHeader(v, &st->status.details)) st->status.details.clear();
  } else {
    st->headers.emplace_back(k, v);
  }
  return 0;
}

int Core::OnFrameRecv(nghttp2_session* s, const nghttp2_frame* f, void* ud) {
  if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(s, f->hd.stream_id));
  if (st == nullptr) return 0;
  auto* side = static_cast<Side*>(ud);
  if (st->server && f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
    auto it = side->inner->live.find(st);
    if (it != side->inner->live.end()) side->core->Dispatch(*side->inner, it->second);
  }
  if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    if (st->reader.mid_message() && !st->server && !st->have_status) {
      st->status = {kInternal, "stream ended in the middle of a message", ""};
      st->have_status = true;
    }
    st->in_closed = true;
    st->cv.notify_all();
  }
  return 0;
}

int Core::OnDataChunk(nghttp2_session* s, uint8_t /*flags*/, int32_t id, const uint8_t* data,
                      size_t len, void* ud) {
  auto* st = static_cast<Stream*>(nghttp2_session_get_stream_user_data(s, id));
  auto* side = static_cast<Side*>(ud);
  if (st == nullptr || st->done) {
    // Nobody will read it: give it back to the peer's window at once (the inner sessions
    // open their windows only as data is consumed).
    if (side->inner != nullptr) nghttp2_session_consume(s, id, len);
    return 0;
  }
  if (st->tunnel) {
    std::deque<std::string> msgs;
    bool ok = st->reader.Feed(data, len, msgs);
    for (const std::string& m : msgs) side->core->FeedTunnel(*st->tunnel, m);
    if (!ok) side->core->CancelLocked(*st, {kInternal, st->reader.error(), ""});
    return 0;
  }
  st->unconsumed += len;
  size_t before = st->in.size();
  if (!st->reader.Feed(data, len, st->in)) {
    bool too_big = st->reader.error().starts_with("received message larger");
    if (st->server) {
      st->trailers = RpcStatus{too_big ? kResourceExhausted : kInternal, st->reader.error(), ""};
      st->out_closed = true;
      if (!st->submitted) side->core->SubmitResponse(*st);
      side->core->CancelContext(st->ctx, Cancelled(st->reader.error()));
    } else {
      side->core->CancelLocked(*st,
                               {too_big ? kResourceExhausted : kInternal, st->reader.error(), ""});
    }
    return 0;
  }
  if (st->in.size() != before) st->cv.notify_all();
  return 0;
}

int Core::OnStreamClose(nghttp2_session* s, int32_t id, uint32_t error_code, void* ud) {
  auto* raw = static_cast<Stream*>(nghttp2_session_get_stream_user_data(s, id));
  if (raw == nullptr) return 0;
  auto* side = static_cast<Side*>(ud);
  Core* core = side->core;
  std::shared_ptr<Stream> st;
  if (side->inner != nullptr) {
    auto it = side->inner->live.find(raw);
    if (it == side->inner->live.end()) return 0;
    st = std::move(it->second);
    side->inner->live.erase(it);
    if (st->unconsumed > 0) nghttp2_session_consume_connection(s, st->unconsumed);
    st->unconsumed = 0;
    if (!st->trailers_sent) core->CancelContext(st->ctx, Cancelled("call cancelled by the daemon"));
  } else {
    auto it = core->live_.find(raw);
    if (it == core->live_.end()) return 0;
    st = std::move(it->second);
    core->live_.erase(it);
    if (!st->have_status) {
      if (error_code == NGHTTP2_REFUSED_STREAM) {
        st->status = {kUnavailable, "the daemon refused the call", ""};
      } else if (error_code == NGHTTP2_CANCEL) {
        st->status = {kCancelled, "the daemon cancelled the call", ""};
      } else if (error_code != NGHTTP2_NO_ERROR) {
        st->status = {kInternal,
                      fmt::format("stream reset: {}", nghttp2_http2_strerror(error_code)), ""};
      } else if (st->http_status != 200 && st->http_status != 0) {
        st->status = {CodeForHttpStatus(st->http_status),
                      fmt::format("unexpected HTTP status {}", st->http_status), ""};
      } else {
        st->status = {kUnknown, "the call ended without a status", ""};
      }
      st->have_status = true;
    }
    if (st->tunnel) core->EndTunnel(*st->tunnel, "session closed");
  }
  st->done = true;
  st->in_closed = true;
  st->cv.notify_all();
  return 0;
}

ssize_t Core::ReadData(nghttp2_session* s, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                       nghttp2_data_source* src, void* /*ud*/) {
  auto* st = static_cast<Stream*>(src->ptr);
  size_t avail = st->pending();
  if (avail == 0) {
    if (!st->out_closed) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (st->server && st->trailers) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const RpcStatus& t = *st->trailers;
      static const std::string kStatusKey = "grpc-status", kMessageKey = "grpc-message",
                               kDetailsKey = "grpc-status-details-bin";
      std::string code = std::to_string(t.code);
      std::string message = PercentEncode(t.message);
      std::string details = EncodeBinaryHeader(t.details);
      std::vector<nghttp2_nv> nva = {Nv(kStatusKey, code)};
      if (!message.empty()) nva.push_back(Nv(kMessageKey, message));
      if (!t.details.empty()) nva.push_back(Nv(kDetailsKey, details));
      nghttp2_submit_trailer(s, id, nva.data(), nva.size());
      st->trailers_sent = true;
    }
    return 0;
  }
  size_t n = std::min(length, avail);
  std::memcpy(buf, st->out.data() + st->out_off, n);
  st->out_off += n;
  if (st->out_off == st->out.size()) {
    st->out.clear();
    st->out_off = 0;
  } else if (st->out_off >= (1u << 20)) {
    st->out.erase(0, st->out_off);
    st->out_off = 0;
  }
  if (st->pending() <= kMaxPending) st->cv.notify_all();
  return static_cast<ssize_t>(n);
}

// --- public classes ---

Call::~Call() {
  if (core_ != nullptr && stream_ != nullptr)
    core_->Cancel(*stream_, {kCancelled, "call abandoned", ""});
}
bool Call::Write(std::string_view message) { return core_->Write(*stream_, message); }
void Call::CloseSend() { core_->CloseSend(*stream_); }
bool Call::Read(std::string* message) { return core_->Read(*stream_, message); }
RpcStatus Call::Finish() { return core_->Finish(*stream_); }
void Call::Cancel() { core_->Cancel(*stream_, {kCancelled, "context canceled", ""}); }

const std::string& ServerCall::method() const { return stream_->method; }
const Metadata& ServerCall::metadata() const { return stream_->headers; }
bool ServerCall::Read(std::string* message) { return core_->Read(*stream_, message); }
bool ServerCall::Write(std::string_view message) { return core_->Write(*stream_, message); }
const Context& ServerCall::context() const { return stream_->ctx; }
void ServerCall::Cancel() { core_->CancelServer(*stream_); }

Tunnel::~Tunnel() { Close(); }

RpcStatus Tunnel::Close() {
  if (closed_) return close_status_;
  closed_ = true;
  core_->CloseSend(*stream_);
  core_->Cancel(*stream_, {kCancelled, "session closed", ""});
  close_status_ = core_->Finish(*stream_);
  if (stream_->tunnel) {
    for (auto& t : core_->TakeThreads(*stream_->tunnel)) t.thread.join();
  }
  return close_status_;
}

void Tunnel::Cancel() { core_->Cancel(*stream_, {kCancelled, "session cancelled", ""}); }

namespace {

// A Core over `fd` (taken), made non-blocking, with its wake-up eventfd.
Result<std::shared_ptr<Core>> NewCore(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus(err, "connection O_NONBLOCK");
  }
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus(err, "connection eventfd");
  }
  return std::make_shared<Core>(fd, wake);
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::FromFd(int fd) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Core> core, NewCore(fd));
  KILN_RETURN_IF_ERROR(core->Init(std::nullopt));
  return std::unique_ptr<Connection>(new Connection(std::move(core)));
}

Result<std::unique_ptr<Server>> Server::ServeFd(int fd, Handlers handlers) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Core> core, NewCore(fd));
  KILN_RETURN_IF_ERROR(core->Init(std::move(handlers)));
  return std::unique_ptr<Server>(new Server(std::move(core)));
}

Server::~Server() { core_->Shutdown(); }

namespace {

Result<int> ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument(fmt::format("invalid unix socket path \"{}\"", path));
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return Unavailable(
        fmt::format("connection error: dial unix {}: connect: {}", path, strerror(err)));
  }
  return fd;
}

Result<int> ConnectTcp(const std::string& hostport) {
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size()) {
    return InvalidArgument(fmt::format("invalid address tcp://{}", hostport));
  }
  std::string host = hostport.substr(0, colon);
  std::string port = hostport.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rv = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rv != 0) {
    return Unavailable(
        fmt::format("connection error: dial tcp {}: {}", hostport, gai_strerror(rv)));
  }
  int last = ECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      freeaddrinfo(res);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;
    }
    last = errno;
    close(fd);
  }
  freeaddrinfo(res);
  return Unavailable(
      fmt::format("connection error: dial tcp {}: connect: {}", hostport, strerror(last)));
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Dial(std::string_view address) {
  Result<int> fd = InvalidArgument(fmt::format(
      "unsupported address {}: use unix:///path/to/socket or tcp://host:port", address));
  if (address.starts_with("unix://")) {
    fd = ConnectUnix(std::string(address.substr(7)));
  } else if (address.starts_with("unix:")) {
    fd = ConnectUnix(std::string(address.substr(5)));
  } else if (address.starts_with("tcp://")) {
    fd = ConnectTcp(std::string(address.substr(6)));
  }
  if (!fd.ok()) return fd.status();
  return FromFd(*fd);
}

Connection::~Connection() { core_->Shutdown(); }

std::unique_ptr<Call> Connection::StartCall(std::string_view path, const CallOptions& opts) {
  return std::make_unique<Call>(core_, core_->Start(path, opts, nullptr, false, nullptr));
}

std::unique_ptr<Call> Connection::StartCall(std::string_view path, const CallOptions& opts,
                                            const std::string& request) {
  return std::make_unique<Call>(core_, core_->Start(path, opts, &request, true, nullptr));
}

std::unique_ptr<Tunnel> Connection::StartTunnel(std::string_view path, const CallOptions& opts,
                                                Handlers handlers) {
  Status err;
  std::shared_ptr<Inner> in = core_->NewInner(std::move(handlers), &err);
  if (in == nullptr) {
    auto st = std::make_shared<Stream>();
    st->done = st->in_closed = st->have_status = true;
    st->status = {kInternal, err.message(), ""};
    return std::make_unique<Tunnel>(core_, st);
  }
  return std::make_unique<Tunnel>(core_, core_->Start(path, opts, nullptr, false, std::move(in)));
}

}  // namespace kiln::rpc
