#pragma once
// fsutil::PacketStream over a call the session serves (rpc::ServerCall), for FileSync.DiffCopy
// and the local exporter's FileSend.DiffCopy (both carry fsutil Packets: FileSend's proto
// declares BytesMessage, but a directory export sends Packets on it); and fsutil::BatchTransport
// for kiln's FileSync.DiffCopyBatch (PacketBatch messages, wrapped in
// fsutil::BatchingPacketStream). The server half-closes by returning from the handler, so
// CloseSend/CloseWrite only record it. Thread-safety follows PacketStream's contract (one
// sender, one receiver, Cancel from anywhere).

#include "fsutil/batch_stream.h"
#include "fsutil/packet_stream.h"
#include "rpc/connection.h"

namespace kiln::client {

class ServerPacketStream : public fsutil::PacketStream {
 public:
  explicit ServerPacketStream(rpc::ServerCall& call) : call_(call) {}

  Status Send(const fsutil::Packet& packet) override;
  Result<bool> Recv(fsutil::Packet* packet) override;
  Status CloseSend() override { return Status::Ok(); }
  void Cancel(const Status& cause) override { call_.Cancel(); }

 private:
  rpc::ServerCall& call_;
  std::string send_buf_;  // the sender's and the receiver's: they run on different threads
  std::string recv_buf_;
};

class ServerBatchTransport : public fsutil::BatchTransport {
 public:
  explicit ServerBatchTransport(rpc::ServerCall& call) : call_(call) {}

  Status Write(const fsutil::PacketBatch& batch) override;
  Result<bool> Read(fsutil::PacketBatch* batch) override;
  Status CloseWrite() override { return Status::Ok(); }
  void Cancel(const Status& cause) override { call_.Cancel(); }

 private:
  rpc::ServerCall& call_;
  std::string send_buf_;  // the sender's and the receiver's: they run on different threads
  std::string recv_buf_;
};

}  // namespace kiln::client
