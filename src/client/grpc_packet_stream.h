#pragma once
// fsutil::PacketStream over the server side of a gRPC bidi stream, for the session services
// kilnctl serves to the daemon: FileSync.DiffCopy (typed Packet stream) and the local-exporter
// FileSend.DiffCopy (raw ByteBuffers that hold Packets); and fsutil::BatchTransport for kiln's
// FileSync.DiffCopyBatch (PacketBatch messages, wrapped in fsutil::BatchingPacketStream). The
// server half-closes by returning from the handler, so CloseSend/CloseWrite only record it.
// Thread-safety follows PacketStream's contract (one sender, one receiver, Cancel from anywhere).

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include "fsutil/batch_stream.h"
#include "fsutil/packet_stream.h"

namespace kiln::client {

class ServerPacketStream : public fsutil::PacketStream {
 public:
  using Stream = grpc::ServerReaderWriterInterface<fsutil::Packet, fsutil::Packet>;
  ServerPacketStream(grpc::ServerContext* ctx, Stream* stream) : ctx_(ctx), stream_(stream) {}

  Status Send(const fsutil::Packet& packet) override;
  Result<bool> Recv(fsutil::Packet* packet) override;
  Status CloseSend() override { return Status::Ok(); }
  void Cancel(const Status& cause) override { ctx_->TryCancel(); }

 private:
  grpc::ServerContext* ctx_;
  Stream* stream_;
};

class ByteBufferPacketStream : public fsutil::PacketStream {
 public:
  using Stream = grpc::ServerReaderWriterInterface<grpc::ByteBuffer, grpc::ByteBuffer>;
  ByteBufferPacketStream(grpc::ServerContext* ctx, Stream* stream) : ctx_(ctx), stream_(stream) {}

  Status Send(const fsutil::Packet& packet) override;
  Result<bool> Recv(fsutil::Packet* packet) override;
  Status CloseSend() override { return Status::Ok(); }
  void Cancel(const Status& cause) override { ctx_->TryCancel(); }

 private:
  grpc::ServerContext* ctx_;
  Stream* stream_;
};

class ServerBatchTransport : public fsutil::BatchTransport {
 public:
  using Stream = grpc::ServerReaderWriterInterface<fsutil::PacketBatch, fsutil::PacketBatch>;
  ServerBatchTransport(grpc::ServerContext* ctx, Stream* stream) : ctx_(ctx), stream_(stream) {}

  Status Write(const fsutil::PacketBatch& batch) override;
  Result<bool> Read(fsutil::PacketBatch* batch) override;
  Status CloseWrite() override { return Status::Ok(); }
  void Cancel(const Status& cause) override { ctx_->TryCancel(); }

 private:
  grpc::ServerContext* ctx_;
  Stream* stream_;
};

}  // namespace kiln::client
