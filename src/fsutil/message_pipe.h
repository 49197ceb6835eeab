#pragma once
// MessagePipe<T>: the shared state of an in-memory bidirectional message pipe, for the
// in-memory PacketStream (one Packet per message) and BatchTransport (one PacketBatch per
// message) pairs that tests use. Direction d is written by end d and read by end 1-d. Each
// direction buffers up to `capacity` messages, after which Push blocks (like gRPC flow
// control); Close half-closes a direction; Cancel fails blocked and later calls with the cause
// (messages already queued can still be popped). Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

#include "util/status.h"

namespace kiln::fsutil::internal {

template <typename T>
class MessagePipe {
 public:
  explicit MessagePipe(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  Status Push(int dir, T msg) {
    std::unique_lock<std::mutex> lock(mu_);
    Queue& q = queues_[dir];
    cv_.wait(lock, [&] { return !cancel_.ok() || q.closed || q.messages.size() < capacity_; });
    if (!cancel_.ok()) return cancel_;
    if (q.closed) return FailedPrecondition("send on a closed packet stream");
    q.messages.push_back(std::move(msg));
    cv_.notify_all();
    return Status::Ok();
  }

  // The next message of direction `dir`; false once it is closed and drained.
  Result<bool> Pop(int dir, T* msg) {
    std::unique_lock<std::mutex> lock(mu_);
    Queue& q = queues_[dir];
    cv_.wait(lock, [&] { return !cancel_.ok() || q.closed || !q.messages.empty(); });
    if (!q.messages.empty()) {
      *msg = std::move(q.messages.front());
      q.messages.pop_front();
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
    if (cancel_.ok()) cancel_ = cause.ok() ? Cancelled("packet stream cancelled") : cause;
    cv_.notify_all();
  }

 private:
  struct Queue {
    std::deque<T> messages;
    bool closed = false;
  };

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  Queue queues_[2];  // guarded by mu_
  Status cancel_;    // guarded by mu_
};

}  // namespace kiln::fsutil::internal
