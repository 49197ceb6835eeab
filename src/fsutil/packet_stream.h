#pragma once
// PacketStream: one side of a bidirectional fsutil packet stream (FileSync.DiffCopy and the
// local-exporter FileSend.DiffCopy both carry fsutil.types.Packet). The gRPC adapters live with
// the session code; NewInMemoryPipe gives two connected ends for tests.
//
// Threading contract for implementations (the gRPC one): the send calls (Send, SendBuffered,
// Flush, CloseSend) may run concurrently with Recv, but not with each other, nor Recv calls. Cancel
// may be called from any thread at any time, including from a Context cancel callback (it must not
// block).

#include <cstddef>
#include <memory>
#include <utility>

#include "fsutil/types/wire.pb.h"
#include "util/status.h"

namespace kiln::fsutil {

using Packet = ::fsutil::types::Packet;
using Stat = ::fsutil::types::Stat;

class PacketStream {
 public:
  virtual ~PacketStream() = default;

  virtual Status Send(const Packet& packet) = 0;
  // Like Send, but a stream that batches packets (batch_stream.h) may hold the packet until
  // its batch is full or until Send, Flush, CloseSend or Recv writes it out. Packets still go
  // out in the order given. Default: Send.
  virtual Status SendBuffered(Packet packet) { return Send(packet); }
  // Writes out what SendBuffered holds. Default: nothing is ever held.
  virtual Status Flush() { return Status::Ok(); }
  // Blocks for the next packet. Returns false at the clean end of the stream (the peer
  // half-closed), an error if the stream broke or was cancelled.
  virtual Result<bool> Recv(Packet* packet) = 0;
  // Half-closes after writing out anything held: no more Send; the peer's Recv returns false
  // once it has read everything.
  virtual Status CloseSend() = 0;
  // Aborts the stream in both directions: blocked and later Send/Recv fail with `cause`
  // (Recv may still return packets that were already delivered).
  virtual void Cancel(const Status& cause) = 0;
};

// Two connected in-memory ends. Each direction buffers up to `capacity` packets, after which
// Send blocks (like gRPC flow control). Destroying an end cancels the pipe. Thread-safe under
// the contract above.
std::pair<std::unique_ptr<PacketStream>, std::unique_ptr<PacketStream>> NewInMemoryPipe(
    size_t capacity = 16);

}  // namespace kiln::fsutil
