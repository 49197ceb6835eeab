#include "client/grpc_packet_stream.h"

#include <grpcpp/impl/codegen/proto_utils.h>

namespace kiln::client {

namespace {

Status StreamBroken(grpc::ServerContext* ctx) {
  if (ctx->IsCancelled()) return Cancelled("transfer cancelled by the daemon");
  return Unavailable("transfer stream closed");
}

}  // namespace

Status ServerPacketStream::Send(const fsutil::Packet& packet) {
  if (!stream_->Write(packet)) return StreamBroken(ctx_);
  return Status::Ok();
}

Result<bool> ServerPacketStream::Recv(fsutil::Packet* packet) {
  if (stream_->Read(packet)) return true;
  if (ctx_->IsCancelled()) return Cancelled("transfer cancelled by the daemon");
  return false;
}

Status ByteBufferPacketStream::Send(const fsutil::Packet& packet) {
  grpc::ByteBuffer buffer;
  bool own = false;
  grpc::Status s = grpc::SerializationTraits<fsutil::Packet>::Serialize(packet, &buffer, &own);
  if (!s.ok()) return Internal("serialize packet: " + s.error_message());
  if (!stream_->Write(buffer)) return StreamBroken(ctx_);
  return Status::Ok();
}

Result<bool> ByteBufferPacketStream::Recv(fsutil::Packet* packet) {
  grpc::ByteBuffer buffer;
  if (!stream_->Read(&buffer)) {
    if (ctx_->IsCancelled()) return Cancelled("transfer cancelled by the daemon");
    return false;
  }
  grpc::Status s = grpc::SerializationTraits<fsutil::Packet>::Deserialize(&buffer, packet);
  if (!s.ok()) return DataLoss("invalid fsutil packet: " + s.error_message());
  return true;
}

Status ServerBatchTransport::Write(const fsutil::PacketBatch& batch) {
  if (!stream_->Write(batch)) return StreamBroken(ctx_);
  return Status::Ok();
}

Result<bool> ServerBatchTransport::Read(fsutil::PacketBatch* batch) {
  if (stream_->Read(batch)) return true;
  if (ctx_->IsCancelled()) return Cancelled("transfer cancelled by the daemon");
  return false;
}

}  // namespace kiln::client
