#include "client/session_packet_stream.h"

namespace kiln::client {

namespace {

Status StreamBroken(const rpc::ServerCall& call) {
  if (call.cancelled()) return Cancelled("transfer cancelled by the daemon");
  return Unavailable("transfer stream closed");
}

template <class Message>
Result<bool> ReadMessage(rpc::ServerCall& call, std::string& buf, Message* msg) {
  if (!call.Read(&buf)) {
    if (call.cancelled()) return Cancelled("transfer cancelled by the daemon");
    return false;
  }
  if (!msg->ParseFromString(buf)) return DataLoss("invalid fsutil packet");
  return true;
}

}  // namespace

Status ServerPacketStream::Send(const fsutil::Packet& packet) {
  packet.SerializeToString(&send_buf_);
  if (!call_.Write(send_buf_)) return StreamBroken(call_);
  return Status::Ok();
}

Result<bool> ServerPacketStream::Recv(fsutil::Packet* packet) {
  return ReadMessage(call_, recv_buf_, packet);
}

Status ServerBatchTransport::Write(const fsutil::PacketBatch& batch) {
  batch.SerializeToString(&send_buf_);
  if (!call_.Write(send_buf_)) return StreamBroken(call_);
  return Status::Ok();
}

Result<bool> ServerBatchTransport::Read(fsutil::PacketBatch* batch) {
  return ReadMessage(call_, recv_buf_, batch);
}

}  // namespace kiln::client
