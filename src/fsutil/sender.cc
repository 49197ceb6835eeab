#include "fsutil/sender.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fsutil/filemode.h"
#include "util/thread_cache.h"

namespace kiln::fsutil {

namespace {

using PacketType = ::fsutil::types::Packet::PacketType;

Packet MakePacket(PacketType type, uint32_t id = 0) {
  Packet p;
  p.set_type(type);
  p.set_id(id);
  return p;
}

// A mutex that serves waiters in arrival order. The walker and the file workers share the
// stream; with a plain mutex the walker, which holds it while blocked on flow control, tends to
// get it straight back and starves requested files until the listing ends. Unlock hands the
// mutex to the longest waiter and wakes only that one.
class FifoMutex {
 public:
  void lock() {
    std::unique_lock<std::mutex> l(mu_);
    if (!locked_) {
      locked_ = true;
      return;
    }
    Waiter self;
    waiters_.push_back(&self);
    self.cv.wait(l, [&] { return self.granted; });
  }
  void unlock() {
    std::lock_guard<std::mutex> l(mu_);
    if (waiters_.empty()) {
      locked_ = false;
      return;
    }
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->granted = true;   // still locked, now by `next`
    next->cv.notify_one();  // under mu_: `next` lives until it sees `granted`
  }

 private:
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };
  std::mutex mu_;
  bool locked_ = false;          // guarded by mu_
  std::deque<Waiter*> waiters_;  // guarded by mu_: in arrival order
};

// One Send call. The calling thread receives; a walker thread sends the listing; worker threads
// send requested files, started as requests arrive (a resync that requests nothing starts
// none). Local failures are reported to the receiver as ERR, after which we wait for it to
// close the stream. Violations by the receiver end the transfer at once.
class Sender {
 public:
  Sender(const Context& ctx, PacketStream& stream, const WalkOptions& opts)
      : work_ctx_(ctx.Child()), stream_(stream), opts_(opts) {}

  Status Run(const std::string& root, SendStats* stats) {
    Result<std::string> resolved = ResolveWalkRoot(root);
    if (resolved.ok()) root_ = *resolved;
    CachedThread walker([this, st = resolved.status()]() mutable { WalkThread(std::move(st)); });

    Status result = RecvLoop();

    bool walk_done = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutting_down_ = true;
      walk_done = walk_done_;
      cv_.notify_all();
    }
    if (!result.ok() || !walk_done) {
      Status cause = result.ok() ? Cancelled("file transfer finished") : result;
      work_ctx_.Cancel(cause);
      stream_.Cancel(cause);
    }
    walker.join();
    for (CachedThread& w : workers_) w.join();
    if (stats != nullptr) {
      stats->entries = entries_.load();
      stats->files_sent = files_sent_.load();
      stats->bytes_sent = bytes_sent_.load();
    }
    return result;
  }

 private:
  Status SendPacket(const Packet& p) {
    std::lock_guard<FifoMutex> lock(send_mu_);
    if (closed_) return FailedPrecondition("the file transfer is already closed");
    return stream_.Send(p);
  }

  // May sit in the stream's batch until it fills (batch_stream.h); plain streams send it now.
  Status SendPacketBuffered(Packet p) {
    std::lock_guard<FifoMutex> lock(send_mu_);
    if (closed_) return FailedPrecondition("the file transfer is already closed");
    return stream_.SendBuffered(std::move(p));
  }

  Status FlushStream() {
    std::lock_guard<FifoMutex> lock(send_mu_);
    if (closed_) return Status::Ok();
    return stream_.Flush();
  }

  // A local failure: tell the receiver (once) and stop producing.
  void Abort(const Status& s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!local_error_.ok()) return;
      local_error_ = s;
      cv_.notify_all();
    }
    work_ctx_.Cancel(s);
    std::lock_guard<FifoMutex> lock(send_mu_);
    if (closed_) return;
    Packet err = MakePacket(Packet::PACKET_ERR);
    err.set_data(s.message());
    stream_.Send(err).IgnoreError();  // best effort: the stream may be what failed
    stream_.CloseSend().IgnoreError();
    closed_ = true;
  }

  Status LocalError() {
    std::lock_guard<std::mutex> lock(mu_);
    return local_error_;
  }

  Status RecvLoop() {
    Packet p;
    while (true) {
      Result<bool> more = stream_.Recv(&p);
      if (Status local = LocalError(); !local.ok()) {
        if (!more.ok() || !*more) return local;
      }
      if (!more.ok()) return more.status();
      if (!*more) {
        return Unavailable("file transfer: the receiver closed the stream before finishing");
      }
      switch (p.type()) {
        case Packet::PACKET_REQ:
          KILN_RETURN_IF_ERROR(Queue(p.id()));
          break;
        case Packet::PACKET_FIN: {
          if (Status local = LocalError(); !local.ok()) return local;
          std::lock_guard<FifoMutex> lock(send_mu_);
          if (closed_) return FailedPrecondition("the file transfer is already closed");
          Status s = stream_.Send(MakePacket(Packet::PACKET_FIN));
          Status c = stream_.CloseSend();
          closed_ = true;
          return s.ok() ? c : s;
        }
        case Packet::PACKET_ERR:
          return Status(Code::kUnknown, "error from receiver: " + p.data());
        default:
          break;  // upstream ignores anything else
      }
    }
  }

  Status Queue(uint32_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(id);
    if (it == files_.end()) {
      return InvalidArgument(
          fmt::format("file transfer: receiver requested unknown file id {}", id));
    }
    queue_.emplace_back(id, std::move(it->second));
    files_.erase(it);
    cv_.notify_all();
    // Another worker when the idle ones cannot take every queued file.
    if (queue_.size() > idle_workers_ && workers_.size() < static_cast<size_t>(kMaxFilesInFlight)) {
      workers_.emplace_back([this] { WorkerThread(); });
    }
    return Status::Ok();
  }

  void WalkThread(Status root_status) {
    Status s = root_status;
    uint32_t id = 0;
    if (s.ok()) {
      s = Walk(work_ctx_, root_, opts_, [this, &id](Stat st) -> Status {
        if (IsRegular(st.mode())) {
          std::lock_guard<std::mutex> lock(mu_);
          files_.emplace(id, st.path());
        }
        id++;
        Packet p = MakePacket(Packet::PACKET_STAT);
        *p.mutable_stat() = std::move(st);
        KILN_RETURN_IF_ERROR(SendPacketBuffered(std::move(p)));
        entries_++;
        return Status::Ok();
      });
    }
    if (s.ok()) {
      // Marked before the end of listing goes out: the receiver may answer with FIN at once,
      // and Run must then see a finished walk and leave the stream alone.
      {
        std::lock_guard<std::mutex> lock(mu_);
        walk_done_ = true;
      }
      s = SendPacket(MakePacket(Packet::PACKET_STAT));  // Send: writes out the listing's tail
    }
    if (!s.ok()) Abort(s);
  }

  void WorkerThread() {
    while (true) {
      std::pair<uint32_t, std::string> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (queue_.empty() && !shutting_down_ && local_error_.ok()) {
          // Idle: write out what this worker buffered, so the end of a file never waits in a
          // batch for the walker or for the next request.
          lock.unlock();
          Status s = FlushStream();
          if (!s.ok()) {
            Abort(s);
            return;
          }
          lock.lock();
        }
        idle_workers_++;
        cv_.wait(lock, [this] { return shutting_down_ || !local_error_.ok() || !queue_.empty(); });
        idle_workers_--;
        if (shutting_down_ || !local_error_.ok()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      Status s = SendFile(job.first, job.second);
      if (!s.ok()) Abort(s);
    }
  }

  Status SendFile(uint32_t id, const std::string& path) {
    const std::string host = root_ == "/" ? "/" + path : root_ + "/" + path;
    int fd = open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno != ENOENT) return ErrnoStatus(errno, "open " + host);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
      close(fd);  // replaced by something that is not a file: send it empty, as upstream
      fd = -1;
    }
    if (fd >= 0) {
      std::string buf(kDataChunkSize, '\0');
      Status s;
      while (s.ok()) {
        s = work_ctx_.Err();
        if (!s.ok()) break;
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          s = ErrnoStatus(errno, "read " + host);
          break;
        }
        if (n == 0) break;
        Packet d = MakePacket(Packet::PACKET_DATA, id);
        d.set_data(buf.data(), static_cast<size_t>(n));
        s = SendPacketBuffered(std::move(d));
        if (s.ok()) bytes_sent_ += n;
      }
      close(fd);
      KILN_RETURN_IF_ERROR(s);
    }
    KILN_RETURN_IF_ERROR(SendPacketBuffered(MakePacket(Packet::PACKET_DATA, id)));  // end of file
    files_sent_++;
    return Status::Ok();
  }

  Context work_ctx_;  // cancelled when the transfer stops; the walker and workers watch it
  PacketStream& stream_;
  const WalkOptions& opts_;
  std::string root_;

  FifoMutex send_mu_;    // serialises stream_.Send / CloseSend
  bool closed_ = false;  // guarded by send_mu_: ERR or FIN sent and the stream half-closed

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint32_t, std::string> files_;     // guarded by mu_: requestable files
  std::deque<std::pair<uint32_t, std::string>> queue_;  // guarded by mu_: requested files
  bool walk_done_ = false;                              // guarded by mu_
  bool shutting_down_ = false;                          // guarded by mu_
  size_t idle_workers_ = 0;                             // guarded by mu_: waiting for a file
  std::vector<CachedThread> workers_;  // started by the receiving thread (Queue), joined by Run
  Status local_error_;                // guarded by mu_

  std::atomic<int64_t> entries_{0};
  std::atomic<int64_t> files_sent_{0};
  std::atomic<int64_t> bytes_sent_{0};
};

}  // namespace

Status Send(const Context& ctx, PacketStream& stream, const std::string& root,
            const WalkOptions& opts, SendStats* stats) {
  Sender sender(ctx, stream, opts);
  Context::CallbackHandle on_cancel =
      ctx.OnCancel([&stream](const Status& cause) { stream.Cancel(cause); });
  return sender.Run(root, stats);
}

}  // namespace kiln::fsutil
