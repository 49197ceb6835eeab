#include "fsutil/batch_stream.h"

#include "fsutil/message_pipe.h"

namespace kiln::fsutil {

namespace {

// Roughly what a packet adds to an encoded batch; cheaper than ByteSizeLong.
size_t PayloadEstimate(const Packet& p) {
  size_t n = 8 + p.data().size();
  if (p.has_stat()) {
    const Stat& s = p.stat();
    n += 48 + s.path().size() + s.linkname().size();
    for (const auto& [k, v] : s.xattrs()) n += 8 + k.size() + v.size();
  }
  return n;
}

class BatchPipeEnd : public BatchTransport {
 public:
  // shared_ptr: both ends own the pipe; it lives until the later one is destroyed.
  BatchPipeEnd(std::shared_ptr<internal::MessagePipe<PacketBatch>> pipe, int out)
      : pipe_(std::move(pipe)), out_(out) {}
  ~BatchPipeEnd() override { pipe_->Cancel(Cancelled("packet stream peer went away")); }

  Status Write(const PacketBatch& batch) override { return pipe_->Push(out_, batch); }
  Result<bool> Read(PacketBatch* batch) override { return pipe_->Pop(1 - out_, batch); }
  Status CloseWrite() override {
    pipe_->Close(out_);
    return Status::Ok();
  }
  void Cancel(const Status& cause) override { pipe_->Cancel(cause); }

 private:
  std::shared_ptr<internal::MessagePipe<PacketBatch>> pipe_;
  const int out_;
};

}  // namespace

BatchingPacketStream::BatchingPacketStream(BatchTransport& transport, Limits limits)
    : transport_(transport), limits_(limits) {
  writer_ = CachedThread([this] { WriterThread(); });
}

BatchingPacketStream::~BatchingPacketStream() {
  bool blocked = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    blocked = writing_;
    work_cv_.notify_all();
    done_cv_.notify_all();
  }
  if (blocked) transport_.Cancel(Cancelled("packet stream closed while a write was pending"));
  writer_.join();
}

Status BatchingPacketStream::Send(const Packet& packet) { return Append(packet, true); }

Status BatchingPacketStream::SendBuffered(Packet packet) {
  return Append(std::move(packet), false);
}

Status BatchingPacketStream::Append(Packet packet, bool queue) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!error_.ok()) return error_;
  if (close_requested_) return FailedPrecondition("send on a closed packet stream");
  pending_bytes_ += PayloadEstimate(packet);
  *pending_.add_packets() = std::move(packet);
  if (queue || pending_bytes_ >= limits_.max_bytes ||
      static_cast<size_t>(pending_.packets_size()) >= limits_.max_packets) {
    QueuePendingLocked();
    return WaitForRoomLocked(lock);
  }
  return Status::Ok();
}

Status BatchingPacketStream::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!error_.ok()) return error_;
  if (pending_.packets_size() == 0) return Status::Ok();
  QueuePendingLocked();
  return WaitForRoomLocked(lock);
}

void BatchingPacketStream::QueuePendingLocked() {
  if (pending_.packets_size() == 0) return;
  queue_.push_back(std::move(pending_));
  pending_.Clear();
  pending_bytes_ = 0;
  work_cv_.notify_one();
}

Status BatchingPacketStream::WaitForRoomLocked(std::unique_lock<std::mutex>& lock) {
  done_cv_.wait(
      lock, [this] { return queue_.size() <= limits_.max_queued || !error_.ok() || stopping_; });
  return error_;
}

Result<bool> BatchingPacketStream::Recv(Packet* packet) {
  while (next_ >= received_.packets_size()) {
    {
      // Never waits for room: reading must not depend on the peer reading our writes.
      std::lock_guard<std::mutex> lock(mu_);
      QueuePendingLocked();
    }
    received_.Clear();
    next_ = 0;
    Result<bool> more = transport_.Read(&received_);
    if (!more.ok()) return more.status();
    if (!*more) {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) return error_;
      return false;
    }
    batches_read_++;
  }
  *packet = std::move(*received_.mutable_packets(next_++));
  return true;
}

Status BatchingPacketStream::CloseSend() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!close_requested_) {
    QueuePendingLocked();
    close_requested_ = true;
    work_cv_.notify_one();
  }
  done_cv_.wait(lock, [this] { return closed_ || !error_.ok(); });
  return error_.ok() ? close_status_ : error_;
}

void BatchingPacketStream::Cancel(const Status& cause) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (error_.ok()) error_ = cause.ok() ? Cancelled("packet stream cancelled") : cause;
    work_cv_.notify_all();
    done_cv_.notify_all();
  }
  transport_.Cancel(cause);
}

int64_t BatchingPacketStream::batches_written() const { return batches_written_.load(); }

int64_t BatchingPacketStream::batches_read() const { return batches_read_.load(); }

void BatchingPacketStream::WriterThread() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(
        lock, [this] { return stopping_ || !queue_.empty() || (close_requested_ && !closed_); });
    if (stopping_) return;
    if (!error_.ok()) {  // the stream is broken: nothing more goes out
      queue_.clear();
      closed_ = close_requested_;
      done_cv_.notify_all();
      continue;
    }
    if (!queue_.empty()) {
      PacketBatch batch = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      done_cv_.notify_all();  // room for waiting producers
      lock.unlock();
      Status s = transport_.Write(batch);
      lock.lock();
      writing_ = false;
      batches_written_++;
      if (!s.ok() && error_.ok()) error_ = s;
      if (!s.ok()) done_cv_.notify_all();
      continue;
    }
    lock.unlock();  // close requested and everything written
    Status s = transport_.CloseWrite();
    lock.lock();
    closed_ = true;
    close_status_ = s;
    done_cv_.notify_all();
  }
}

std::pair<std::unique_ptr<BatchTransport>, std::unique_ptr<BatchTransport>> NewInMemoryBatchPipe(
    size_t capacity) {
  auto pipe = std::make_shared<internal::MessagePipe<PacketBatch>>(capacity);
  return {std::make_unique<BatchPipeEnd>(pipe, 0), std::make_unique<BatchPipeEnd>(pipe, 1)};
}

}  // namespace kiln::fsutil
