#include "session/filesync.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include "filesync/filesync.grpc.pb.h"
#include "fsutil/batch_stream.h"
#include "kiln/filesync.grpc.pb.h"
#include "util/log.h"

namespace kiln::session {

namespace {

Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  return Status(static_cast<Code>(s.error_code()), what + ": " + s.error_message());
}

bool IsAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

std::string QueryEscape(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Multi-valued header; non-ASCII values are query-escaped and flagged (wire-protocol.md §4.4).
void AddValues(grpc::ClientContext& cc, const std::string& key, const std::vector<std::string>& vals) {
  bool ascii = true;
  for (const auto& v : vals) ascii = ascii && IsAscii(v);
  for (const auto& v : vals) cc.AddMetadata(key, ascii ? v : QueryEscape(v));
  if (!ascii) cc.AddMetadata(key + "-encoded", "1");
}

// fsutil packets over the typed FileSync stream.
class TypedPacketStream : public fsutil::PacketStream {
 public:
  TypedPacketStream(grpc::ClientContext* cc,
                    grpc::ClientReaderWriter<::fsutil::types::Packet, ::fsutil::types::Packet>* rw)
      : cc_(cc), rw_(rw) {}
  Status Send(const fsutil::Packet& p) override {
    if (!rw_->Write(p)) return Unavailable("session stream closed while sending");
    return Status::Ok();
  }
  Result<bool> Recv(fsutil::Packet* p) override { return rw_->Read(p); }
  Status CloseSend() override {
    rw_->WritesDone();
    return Status::Ok();
  }
  void Cancel(const Status&) override { cc_->TryCancel(); }

 private:
  grpc::ClientContext* cc_;
  grpc::ClientReaderWriter<::fsutil::types::Packet, ::fsutil::types::Packet>* rw_;
};

// kiln's DiffCopyBatch stream as a fsutil::BatchTransport (wrapped in BatchingPacketStream).
class ClientBatchTransport : public fsutil::BatchTransport {
 public:
  using Stream = grpc::ClientReaderWriter<fsutil::PacketBatch, fsutil::PacketBatch>;
  ClientBatchTransport(grpc::ClientContext* cc, Stream* rw) : cc_(cc), rw_(rw) {}
  Status Write(const fsutil::PacketBatch& batch) override {
    if (!rw_->Write(batch)) return Unavailable("session stream closed while sending");
    return Status::Ok();
  }
  Result<bool> Read(fsutil::PacketBatch* batch) override { return rw_->Read(batch); }
  Status CloseWrite() override {
    rw_->WritesDone();
    return Status::Ok();
  }
  void Cancel(const Status&) override { cc_->TryCancel(); }

 private:
  grpc::ClientContext* cc_;
  Stream* rw_;
};

using RawStream = grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

std::unique_ptr<RawStream> OpenRaw(Session& s, grpc::ClientContext* cc, const char* method) {
  grpc::internal::RpcMethod m(method, grpc::internal::RpcMethod::BIDI_STREAMING);
  return std::unique_ptr<RawStream>(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          s.channel().get(), m, cc));
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& bb) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!bb.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// fsutil packets over FileSend, which is declared with BytesMessage but carries packets.
class RawPacketStream : public fsutil::PacketStream {
 public:
  RawPacketStream(grpc::ClientContext* cc, RawStream* rw) : cc_(cc), rw_(rw) {}
  Status Send(const fsutil::Packet& p) override {
    if (!rw_->Write(ToBuffer(p.SerializeAsString()))) return Unavailable("session stream closed while sending");
    return Status::Ok();
  }
  Result<bool> Recv(fsutil::Packet* p) override {
    grpc::ByteBuffer bb;
    if (!rw_->Read(&bb)) return false;
    if (!p->ParseFromString(FromBuffer(bb))) return DataLoss("malformed fsutil packet from client");
    return true;
  }
  Status CloseSend() override {
    rw_->WritesDone();
    return Status::Ok();
  }
  void Cancel(const Status&) override { cc_->TryCancel(); }

 private:
  grpc::ClientContext* cc_;
  RawStream* rw_;
};

class RawFileSendWriter : public FileSendWriter {
 public:
  RawFileSendWriter(std::unique_ptr<grpc::ClientContext> cc, std::unique_ptr<RawStream> rw,
                    Context::CallbackHandle h)
      : cc_(std::move(cc)), rw_(std::move(rw)), cancel_(std::move(h)) {}
  ~RawFileSendWriter() override {
    if (!closed_) {
      cc_->TryCancel();
      rw_->Finish().ok();
    }
  }
  Status Write(std::string_view data) override {
    constexpr size_t kChunk = 3 << 20;  // Go clients cap messages at 3 MiB
    for (size_t off = 0; off < data.size(); off += kChunk) {
      moby::filesync::v1::BytesMessage m;
      m.set_data(std::string(data.substr(off, kChunk)));
      if (!rw_->Write(ToBuffer(m.SerializeAsString()))) {
        return Unavailable("client closed the file export stream");
      }
    }
    return Status::Ok();
  }
  Status Close() override {
    closed_ = true;
    rw_->WritesDone();
    grpc::ByteBuffer bb;
    while (rw_->Read(&bb)) {
    }
    return FromGrpc(rw_->Finish(), "export to client file");
  }

 private:
  std::unique_ptr<grpc::ClientContext> cc_;
  std::unique_ptr<RawStream> rw_;
  Context::CallbackHandle cancel_;
  bool closed_ = false;
};

// One FileSync call on the heap: its end can outlive SyncLocalDir (Session::RunDetached).
struct PullCall {
  explicit PullCall(std::shared_ptr<grpc::Channel> ch) : channel(std::move(ch)) {}
  ~PullCall() {
    session_hook.Reset();  // before cc goes
    stream.reset();        // a batching stream's writer is done with the call before Finish
  }
  // Ends the call: its status (the client's own error, if it sent one).
  grpc::Status Finish() {
    stream.reset();
    return batch_rw ? batch_rw->Finish() : rw->Finish();
  }

  std::shared_ptr<grpc::Channel> channel;
  grpc::ClientContext cc;
  std::unique_ptr<grpc::ClientReaderWriter<::fsutil::types::Packet, ::fsutil::types::Packet>> rw;
  std::unique_ptr<ClientBatchTransport::Stream> batch_rw;
  std::unique_ptr<ClientBatchTransport> transport;
  std::unique_ptr<fsutil::PacketStream> stream;
  Context::CallbackHandle session_hook;  // cancels cc when the session ends
};

}  // namespace

Status SyncLocalDir(const Context& ctx, Session& s, const LocalSyncRequest& req,
                    const std::string& dest, const fsutil::ReceiveOptions& opts,
                    fsutil::ReceiveStats* stats) {
  const bool batch = s.Supports(kFileSyncBatchMethod);
  if (!batch && !s.Supports(kFileSyncMethod)) {
    return FailedPrecondition(
        "no local sources enabled: the client session does not serve FileSync");
  }
  auto call = std::make_shared<PullCall>(s.channel());
  grpc::ClientContext& cc = call->cc;
  cc.AddMetadata("dir-name", req.dir_name);
  AddValues(cc, "include-patterns", req.include_patterns);
  AddValues(cc, "exclude-patterns", req.exclude_patterns);
  AddValues(cc, "followpaths", req.follow_paths);
  auto cancel = ctx.OnCancel([&cc](const Status&) { cc.TryCancel(); });
  call->session_hook = s.context().OnCancel([&cc](const Status&) { cc.TryCancel(); });
  log::Debug("local \"{}\": pulling over {}", req.dir_name,
             batch ? kFileSyncBatchMethod : kFileSyncMethod);
  if (batch) {
    call->batch_rw = kiln::filesync::v1::FileSync::NewStub(s.channel())->DiffCopyBatch(&cc);
    call->transport = std::make_unique<ClientBatchTransport>(&cc, call->batch_rw.get());
    call->stream = std::make_unique<fsutil::BatchingPacketStream>(*call->transport);
  } else {
    call->rw = moby::filesync::v1::FileSync::NewStub(s.channel())->DiffCopy(&cc);
    call->stream = std::make_unique<TypedPacketStream>(&cc, call->rw.get());
  }
  // dest is complete once the receiver has sent its FIN: the sender's answer to it and the
  // call's status (a round trip through the session tunnel) are read in the background.
  fsutil::ReceiveOptions o = opts;
  o.return_at_fin = true;
  Status st = fsutil::Receive(ctx, *call->stream, dest, o, stats);
  cancel.Reset();
  if (st.ok()) {
    s.RunDetached([call, name = req.dir_name] {
      Status end = fsutil::FinishAfterFin(*call->stream);
      if (!end.ok()) call->cc.TryCancel();
      grpc::Status gs = call->Finish();
      if (!end.ok() || !gs.ok()) {
        log::Debug("local \"{}\": after the transfer: {}", name,
                   end.ok() ? gs.error_message() : end.ToString());
      }
    });
    return Status::Ok();
  }
  // When the client ended the stream (its own error, e.g. an unknown dir name), Finish returns
  // that status; otherwise stop the call first so Finish cannot wait on a sender still going.
  if (st.code() != Code::kUnavailable) cc.TryCancel();
  grpc::Status gs = call->Finish();
  // The client's own error (e.g. a missing --local dir) says more than ours.
  if (!gs.ok() && gs.error_code() != grpc::StatusCode::CANCELLED) {
    return FromGrpc(gs, "transfer local \"" + req.dir_name + "\"");
  }
  return ctx.cancelled() ? ctx.Err() : st;
}

Status SendDirToClient(const Context& ctx, Session& s, int exporter_id, const std::string& src,
                       fsutil::SendStats* stats) {
  if (!s.Supports(kFileSendMethod)) {
    return FailedPrecondition("the client session does not accept exports (FileSend)");
  }
  grpc::ClientContext cc;
  cc.AddMetadata("buildkit-attachable-exporter-id", std::to_string(exporter_id));
  auto cancel = ctx.OnCancel([&cc](const Status&) { cc.TryCancel(); });
  auto rw = OpenRaw(s, &cc, kFileSendMethod);
  RawPacketStream ps(&cc, rw.get());
  Status st = fsutil::Send(ctx, ps, src, fsutil::WalkOptions{}, stats);
  if (!st.ok()) cc.TryCancel();
  grpc::Status gs = rw->Finish();
  if (!st.ok()) return ctx.cancelled() ? ctx.Err() : st;
  return FromGrpc(gs, "export to client directory");
}

Result<std::unique_ptr<FileSendWriter>> OpenFileSend(const Context& ctx, Session& s, int exporter_id,
                                                     const std::map<std::string, std::string>& md) {
  if (!s.Supports(kFileSendMethod)) {
    return FailedPrecondition("the client session does not accept exports (FileSend)");
  }
  auto cc = std::make_unique<grpc::ClientContext>();
  cc->AddMetadata("buildkit-attachable-exporter-id", std::to_string(exporter_id));
  for (const auto& [k, v] : md) cc->AddMetadata("exporter-md-" + k, v);
  grpc::ClientContext* raw = cc.get();
  auto h = ctx.OnCancel([raw](const Status&) { raw->TryCancel(); });
  auto rw = OpenRaw(s, raw, kFileSendMethod);
  return std::unique_ptr<FileSendWriter>(new RawFileSendWriter(std::move(cc), std::move(rw), std::move(h)));
}

}  // namespace kiln::session
