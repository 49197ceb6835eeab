#include "fsutil/packet_stream.h"

#include <condition_variable>
#include <deque>
#include <mutex>

namespace kiln::fsutil {

namespace {

// Both directions of one pipe, under one lock.
class PipeState {
 public:
  explicit PipeState(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  Status Push(int dir, const Packet& p) {
    std::unique_lock<std::mutex> lock(mu_);
    Queue& q = queues_[dir];
    cv_.wait(lock, [&] { return !cancel_.ok() || q.closed || q.packets.size() < capacity_; });
    if (!cancel_.ok()) return cancel_;
    if (q.closed) return FailedPrecondition("send on a closed packet stream");
    q.packets.push_back(p);
    cv_.notify_all();
    return Status::Ok();
  }

  Result<bool> Pop(int dir, Packet* p) {
    std::unique_lock<std::mutex> lock(mu_);
    Queue& q = queues_[dir];
    cv_.wait(lock, [&] { return !cancel_.ok() || q.closed || !q.packets.empty(); });
    if (!q.packets.empty()) {
      *p = std::move(q.packets.front());
      q.packets.pop_front();
      cv_.notify_all();
      return true;
    }
    if (!cancel_.ok()) return cancel_;
    return false;
  }

  void Close(int dir) {
    std::lock_guard<std::mutex> lock(mu_);
    queues_[dir].closed = true;
    cv_.notify_all();
  }

  void Cancel(const Status& cause) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancel_.ok()) {
      cancel_ = cause.ok() ? Cancelled("packet stream cancelled") : cause;
    }
    cv_.notify_all();
  }

 private:
  struct Queue {
    std::deque<Packet> packets;
    bool closed = false;
  };

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  Queue queues_[2];  // guarded by mu_
  Status cancel_;    // guarded by mu_
};

class PipeEnd : public PacketStream {
 public:
  // shared_ptr: both ends own the shared state; it lives until the later one is destroyed.
  PipeEnd(std::shared_ptr<PipeState> state, int out) : state_(std::move(state)), out_(out) {}
  ~PipeEnd() override { state_->Cancel(Cancelled("packet stream peer went away")); }

  Status Send(const Packet& packet) override { return state_->Push(out_, packet); }
  Result<bool> Recv(Packet* packet) override { return state_->Pop(1 - out_, packet); }
  Status CloseSend() override {
    state_->Close(out_);
    return Status::Ok();
  }
  void Cancel(const Status& cause) override { state_->Cancel(cause); }

 private:
  std::shared_ptr<PipeState> state_;
  const int out_;
};

}  // namespace

std::pair<std::unique_ptr<PacketStream>, std::unique_ptr<PacketStream>> NewInMemoryPipe(
    size_t capacity) {
  auto state = std::make_shared<PipeState>(capacity);
  return {std::make_unique<PipeEnd>(state, 0), std::make_unique<PipeEnd>(state, 1)};
}

}  // namespace kiln::fsutil
