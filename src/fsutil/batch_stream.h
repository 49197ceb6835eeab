#pragma once
// BatchingPacketStream: a PacketStream that moves runs of packets as one message of a
// BatchTransport (kiln's FileSync.DiffCopyBatch extension, proto/kiln/filesync.proto), so the
// per-message cost of the transport is paid per batch instead of per packet. The gRPC
// transports live with the session code; NewInMemoryBatchPipe gives two connected ends for
// tests.
//
// Sending:
//   - SendBuffered appends to a pending batch, which is queued for writing once it holds about
//     Limits::max_bytes of payload or Limits::max_packets packets;
//   - Send appends and queues the batch at once; Flush queues whatever is pending;
//   - CloseSend queues what is pending, waits until everything is written, then half-closes.
// Packets go out in the order they were given. A writer thread owned by the stream does every
// transport write, so no caller ever blocks on the transport's flow control: producers only
// wait while more than Limits::max_queued batches are queued (that bounds memory), and Recv
// never waits for a write at all.
//
// Receiving: Recv serves the packets of the last message read; when they are used up it FIRST
// queues the pending packets for writing (a peer that waits for them before it answers is
// never starved, e.g. a receiver's REQs), then reads the next message.
//
// Why a writer thread: with writes on the caller's thread, a Recv that flushes can block in a
// write while the peer is itself blocked writing to us (both directions full, neither side
// reading), a deadlock that the one-packet-per-message fsutil protocol cannot reach because its
// reading threads never write. Here reading never waits for writing, as there.
//
// Thread-safety: PacketStream's contract (one thread sending, one receiving, Cancel from
// anywhere), and the send calls are also safe to use from several threads at once.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "fsutil/packet_stream.h"
#include "kiln/filesync.pb.h"
#include "util/status.h"
#include "util/thread_cache.h"

namespace kiln::fsutil {

using PacketBatch = ::kiln::filesync::v1::PacketBatch;

// One direction-pair of whole messages. Write and CloseWrite are called from one thread at a
// time, Read from one (other) thread; Cancel from any thread at any time, without blocking.
class BatchTransport {
 public:
  virtual ~BatchTransport() = default;

  virtual Status Write(const PacketBatch& batch) = 0;
  // Blocks for the next message. False at the clean end (the peer half-closed), an error if the
  // transport broke or was cancelled.
  virtual Result<bool> Read(PacketBatch* batch) = 0;
  virtual Status CloseWrite() = 0;
  virtual void Cancel(const Status& cause) = 0;
};

class BatchingPacketStream final : public PacketStream {
 public:
  struct Limits {
    // A batch goes out at whichever comes first. File data fills 1 MiB batches (fewer messages
    // through both gRPC layers: measured, kilnctl's CPU for a 200 MB first sync fell from 2.5 s
    // with 64 KiB to 1.4 s); a listing still flows in runs of 1024 entries, so the receiver
    // works on the first ones while the sender walks on.
    size_t max_bytes = size_t{1024} * 1024;  // payload estimate of a pending batch
    size_t max_packets = 1024;
    size_t max_queued = 2;  // batches waiting for the writer before producers wait
  };

  // `transport` must outlive the stream.
  explicit BatchingPacketStream(BatchTransport& transport) : BatchingPacketStream(transport, {}) {}
  BatchingPacketStream(BatchTransport& transport, Limits limits);
  // Stops the writer: queued batches that were not written are dropped, and a write still
  // blocked in the transport is cancelled. Call CloseSend first to deliver everything.
  ~BatchingPacketStream() override;
  BatchingPacketStream(const BatchingPacketStream&) = delete;  // owns a thread bound to this
  BatchingPacketStream& operator=(const BatchingPacketStream&) = delete;

  Status Send(const Packet& packet) override;
  Status SendBuffered(Packet packet) override;
  Status Flush() override;
  Result<bool> Recv(Packet* packet) override;
  Status CloseSend() override;
  void Cancel(const Status& cause) override;

  // Messages written and read so far (for tests and debugging).
  int64_t batches_written() const;
  int64_t batches_read() const;

 private:
  // Appends under mu_; moves the pending batch to the queue when `queue` or it is full.
  Status Append(Packet packet, bool queue);
  // Moves pending packets to the writer's queue (mu_ held).
  void QueuePendingLocked();
  // Producers wait here while the writer is too far behind (mu_ held by `lock`).
  Status WaitForRoomLocked(std::unique_lock<std::mutex>& lock);
  void WriterThread();

  BatchTransport& transport_;
  const Limits limits_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // for the writer: a batch is queued, or a close or stop
  std::condition_variable done_cv_;  // for producers and CloseSend: the writer made progress
  PacketBatch pending_;              // guarded by mu_
  size_t pending_bytes_ = 0;         // guarded by mu_
  std::deque<PacketBatch> queue_;    // guarded by mu_: complete batches for the writer
  bool writing_ = false;             // guarded by mu_: the writer is in transport_.Write
  bool close_requested_ = false;     // guarded by mu_
  bool closed_ = false;              // guarded by mu_: CloseWrite done (or given up)
  bool stopping_ = false;            // guarded by mu_: the destructor runs
  Status close_status_;              // guarded by mu_
  Status error_;                     // guarded by mu_: a failed write or the cancel cause
  bool cancelled_ = false;           // guarded by mu_

  // Used by the receiving thread only.
  PacketBatch received_;
  int next_ = 0;  // index in received_ of the next packet Recv returns

  std::atomic<int64_t> batches_written_{0};
  std::atomic<int64_t> batches_read_{0};

  CachedThread writer_;  // last: starts after the members above are ready
};

// Two connected in-memory BatchTransport ends. Each direction buffers up to `capacity`
// messages, after which Write blocks. Destroying an end cancels the pipe. Thread-safe under
// BatchTransport's contract.
std::pair<std::unique_ptr<BatchTransport>, std::unique_ptr<BatchTransport>> NewInMemoryBatchPipe(
    size_t capacity = 4);

}  // namespace kiln::fsutil
