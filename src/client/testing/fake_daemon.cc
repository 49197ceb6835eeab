#include "client/testing/fake_daemon.h"

#include <grpc/grpc.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "filesync/filesync.grpc.pb.h"
#include "fsutil/batch_stream.h"
#include "fsutil/receiver.h"
#include "fsutil/sender.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kiln/filesync.grpc.pb.h"
#include "session/grpc_status.h"

namespace kiln::client::testing {

namespace {

namespace bk = moby::buildkit::v1;
namespace gw = moby::buildkit::v1::frontend;
using Packet = ::fsutil::types::Packet;

constexpr auto kWait = std::chrono::seconds(10);

// fsutil::PacketStream over the client side of a bidi call.
class ClientPacketStream : public fsutil::PacketStream {
 public:
  ClientPacketStream(grpc::ClientContext* ctx, grpc::ClientReaderWriterInterface<Packet, Packet>* s)
      : ctx_(ctx), s_(s) {}
  Status Send(const Packet& p) override {
    return s_->Write(p) ? Status::Ok() : Unavailable("stream closed");
  }
  Result<bool> Recv(Packet* p) override { return s_->Read(p); }
  Status CloseSend() override {
    s_->WritesDone();
    return Status::Ok();
  }
  void Cancel(const Status&) override { ctx_->TryCancel(); }

 private:
  grpc::ClientContext* ctx_;
  grpc::ClientReaderWriterInterface<Packet, Packet>* s_;
};

// fsutil::BatchTransport over the client side of a DiffCopyBatch call.
class ClientBatchTransport : public fsutil::BatchTransport {
 public:
  using Stream = grpc::ClientReaderWriterInterface<fsutil::PacketBatch, fsutil::PacketBatch>;
  ClientBatchTransport(grpc::ClientContext* ctx, Stream* s) : ctx_(ctx), s_(s) {}
  Status Write(const fsutil::PacketBatch& b) override {
    return s_->Write(b) ? Status::Ok() : Unavailable("stream closed");
  }
  Result<bool> Read(fsutil::PacketBatch* b) override { return s_->Read(b); }
  Status CloseWrite() override {
    s_->WritesDone();
    return Status::Ok();
  }
  void Cancel(const Status&) override { ctx_->TryCancel(); }

 private:
  grpc::ClientContext* ctx_;
  Stream* s_;
};

std::string Header(const grpc::ServerContext* ctx, const std::string& key) {
  auto it = ctx->client_metadata().find(key);
  if (it == ctx->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

struct SessionEnd {
  std::shared_ptr<grpc::Channel> channel;
};

// Shared state of both services.
class FakeDaemon::Impl {
 public:
  std::mutex mu;
  std::condition_variable cv;
  FakeScript script;
  FakeRecord rec;
  std::map<std::string, SessionEnd> sessions;
  std::set<std::string> solving;
  std::set<std::string> finished;
  bool returned = false;
  std::string pulled_root;

  void Call(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu);
    rec.calls.push_back(name);
  }

  std::shared_ptr<grpc::Channel> WaitSession(const std::string& id) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, kWait, [&] { return sessions.contains(id); });
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second.channel;
  }

  Status Pull(const std::shared_ptr<grpc::Channel>& ch, const std::string& name, bool batch) {
    grpc::ClientContext c;
    c.AddMetadata("dir-name", name);
    fsutil::ReceiveStats stats;
    Status s;
    grpc::Status fin;
    if (batch) {
      auto stub = kiln::filesync::v1::FileSync::NewStub(ch);
      auto stream = stub->DiffCopyBatch(&c);
      ClientBatchTransport transport(&c, stream.get());
      {
        fsutil::BatchingPacketStream ps(transport);
        s = fsutil::Receive(Context::Background(), ps, pulled_root + "/" + name,
                            fsutil::ReceiveOptions{}, &stats);
      }
      fin = stream->Finish();
    } else {
      auto stub = moby::filesync::v1::FileSync::NewStub(ch);
      auto stream = stub->DiffCopy(&c);
      ClientPacketStream ps(&c, stream.get());
      s = fsutil::Receive(Context::Background(), ps, pulled_root + "/" + name,
                          fsutil::ReceiveOptions{}, &stats);
      fin = stream->Finish();
    }
    if (!fin.ok() && fin.error_code() != grpc::StatusCode::CANCELLED)
      return session::FromGrpcStatus(fin);
    return s;
  }

  Status ExportDir(const std::shared_ptr<grpc::Channel>& ch, const std::string& dir, int id) {
    grpc::ClientContext c;
    c.AddMetadata("buildkit-attachable-exporter-id", std::to_string(id));
    grpc::internal::RpcMethod method("/moby.filesync.v1.FileSend/DiffCopy",
                                     grpc::internal::RpcMethod::BIDI_STREAMING);
    std::unique_ptr<grpc::ClientReaderWriter<Packet, Packet>> stream(
        grpc::internal::ClientReaderWriterFactory<Packet, Packet>::Create(ch.get(), method, &c));
    ClientPacketStream ps(&c, stream.get());
    fsutil::SendStats stats;
    Status s = fsutil::Send(Context::Background(), ps, dir, fsutil::WalkOptions{}, &stats);
    grpc::Status fin = stream->Finish();
    if (!fin.ok() && fin.error_code() != grpc::StatusCode::CANCELLED)
      return session::FromGrpcStatus(fin);
    return s;
  }

  Status ExportBytes(const std::shared_ptr<grpc::Channel>& ch, const std::string& data, int id) {
    auto stub = moby::filesync::v1::FileSend::NewStub(ch);
    grpc::ClientContext c;
    c.AddMetadata("buildkit-attachable-exporter-id", std::to_string(id));
    auto stream = stub->DiffCopy(&c);
    moby::filesync::v1::BytesMessage m;
    for (size_t off = 0; off < data.size(); off += 1000) {  // several chunks
      m.set_data(data.substr(off, 1000));
      if (!stream->Write(m)) break;
    }
    stream->WritesDone();
    return session::FromGrpcStatus(stream->Finish());
  }
};

namespace {

class ControlImpl final : public bk::Control::Service {
 public:
  explicit ControlImpl(FakeDaemon::Impl* d) : d_(d) {}

  grpc::Status ListWorkers(grpc::ServerContext*, const bk::ListWorkersRequest*,
                           bk::ListWorkersResponse* resp) override {
    d_->Call("ListWorkers");
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      if (!d_->script.list_workers.ok()) return d_->script.list_workers;
    }
    auto* w = resp->add_record();
    w->set_id("fakeworker");
    w->add_platforms()->set_architecture("amd64");
    w->mutable_platforms(0)->set_os("linux");
    return grpc::Status::OK;
  }

  grpc::Status Session(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<bk::BytesMessage, bk::BytesMessage>* stream) override {
    std::string id = Header(ctx, "x-docker-expose-session-uuid");
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->rec.calls.push_back("Session");
      for (const auto& [k, v] : ctx->client_metadata()) {
        std::string key(k.data(), k.size());
        if (key.starts_with("x-docker-expose-session-")) {
          d_->rec.session_headers.emplace(key, std::string(v.data(), v.size()));
        }
      }
    }
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "socketpair");
    }
    int a = fds[0];
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "localhost");
    auto channel = grpc::CreateCustomInsecureChannelFromFd("localhost", fds[1], args);
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->sessions[id] = SessionEnd{channel};
      d_->cv.notify_all();
    }
    std::atomic<bool> stop{false};
    std::thread out([&] {
      std::string buf(32768, '\0');
      bk::BytesMessage m;
      while (true) {
        pollfd p{a, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r == 0) {
          if (stop) break;
          continue;
        }
        if (r < 0) break;
        ssize_t n = read(a, buf.data(), buf.size());
        if (n <= 0) break;
        m.set_data(buf.data(), static_cast<size_t>(n));
        if (!stream->Write(m)) break;
      }
    });
    bk::BytesMessage in;
    while (stream->Read(&in)) {
      std::string_view data = in.data();
      while (!data.empty()) {
        ssize_t n = send(a, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        data.remove_prefix(static_cast<size_t>(n));
      }
    }
    shutdown(a, SHUT_WR);
    stop = true;
    out.join();
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->sessions.erase(id);
    }
    channel.reset();
    close(a);
    return grpc::Status::OK;
  }

  grpc::Status Solve(grpc::ServerContext* ctx, const bk::SolveRequest* req,
                     bk::SolveResponse* resp) override {
    FakeScript script;
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->rec.calls.push_back("Solve");
      d_->rec.solve = *req;
      d_->solving.insert(req->ref());
      d_->cv.notify_all();
      script = d_->script;
    }
    grpc::Status result = Run(ctx, *req, script);
    std::lock_guard<std::mutex> lock(d_->mu);
    d_->finished.insert(req->ref());
    d_->cv.notify_all();
    if (result.ok()) {
      for (const auto& [k, v] : script.exporter_response)
        (*resp->mutable_exporterresponse())[k] = v;
    }
    return result;
  }

  grpc::Status Status(grpc::ServerContext* ctx, const bk::StatusRequest* req,
                      grpc::ServerWriter<bk::StatusResponse>* writer) override {
    std::vector<bk::StatusResponse> statuses;
    {
      std::unique_lock<std::mutex> lock(d_->mu);
      d_->rec.calls.push_back("Status");
      d_->cv.wait_for(lock, kWait, [&] {
        return d_->solving.contains(req->ref()) || d_->finished.contains(req->ref());
      });
      statuses = d_->script.statuses;
    }
    for (const auto& s : statuses) writer->Write(s);
    std::unique_lock<std::mutex> lock(d_->mu);
    while (!d_->finished.contains(req->ref()) && !ctx->IsCancelled()) {
      d_->cv.wait_for(lock, std::chrono::milliseconds(50));
    }
    return grpc::Status::OK;
  }

 private:
  grpc::Status Run(grpc::ServerContext* ctx, const bk::SolveRequest& req,
                   const FakeScript& script) {
    auto ch = d_->WaitSession(req.session());
    if (ch == nullptr) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such session");
    if (req.frontend().empty() && !req.has_definition()) {  // client-side frontend
      std::unique_lock<std::mutex> lock(d_->mu);
      d_->cv.wait_for(lock, kWait, [&] { return d_->returned || ctx->IsCancelled(); });
      if (!d_->returned) return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no Return");
      if (d_->rec.bridge_return.has_error()) {
        return grpc::Status(static_cast<grpc::StatusCode>(d_->rec.bridge_return.error().code()),
                            d_->rec.bridge_return.error().message());
      }
    }
    for (const std::string& name : script.pull_locals) {
      kiln::Status s = d_->Pull(ch, name, script.pull_batch);
      {
        std::lock_guard<std::mutex> lock(d_->mu);
        d_->rec.pull_status[name] = s;
      }
      if (!s.ok()) return session::ToGrpcStatus(s);
    }
    if (script.check_health) {
      auto stub = grpc::health::v1::Health::NewStub(ch);
      grpc::ClientContext c;
      grpc::health::v1::HealthCheckResponse hr;
      grpc::Status hs = stub->Check(&c, grpc::health::v1::HealthCheckRequest(), &hr);
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->rec.health = hs;
      d_->rec.health_serving = hr.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    }
    kiln::Status es;
    if (!script.export_dir.empty()) es = d_->ExportDir(ch, script.export_dir, script.export_id);
    if (es.ok() && !script.export_bytes.empty()) {
      es = d_->ExportBytes(ch, script.export_bytes, script.export_id);
    }
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->rec.export_status = es;
    }
    if (!es.ok()) return session::ToGrpcStatus(es);
    if (!script.store_blobs.empty()) {
      kiln::Status cs = CopyToStore(req.session(), ch, script);
      {
        std::lock_guard<std::mutex> lock(d_->mu);
        d_->rec.store_status = cs;
      }
      if (!cs.ok()) return session::ToGrpcStatus(cs);
    }
    if (script.block_until_cancelled) {
      while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->rec.solve_cancelled = true;
      return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled");
    }
    return script.result;
  }

  // The daemon's copier over this session, which advertises what the client's headers said.
  kiln::Status CopyToStore(const std::string& id, const std::shared_ptr<grpc::Channel>& ch,
                           const FakeScript& script) {
    session::SessionHeaders h;
    h.id = id;
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      auto [from, to] = d_->rec.session_headers.equal_range("x-docker-expose-session-grpc-method");
      for (auto it = from; it != to; ++it) h.methods.push_back(it->second);
    }
    session::Session s(h, ch, Context::Background().Child());
    auto r = session::CopyBlobsToClientStore(Context::Background(), s, session::kExportStoreId,
                                             *script.content_store, script.store_blobs);
    return r.status();
  }

  FakeDaemon::Impl* d_;
};

class BridgeImpl final : public gw::LLBBridge::Service {
 public:
  explicit BridgeImpl(FakeDaemon::Impl* d) : d_(d) {}

  grpc::Status Ping(grpc::ServerContext* ctx, const gw::PingRequest*,
                    gw::PongResponse* resp) override {
    Record(ctx, "Ping");
    for (const char* cap : {"solve.base", "return", "proto.refarray"}) {
      auto* c = resp->add_frontendapicaps();
      c->set_id(cap);
      c->set_enabled(true);
    }
    return grpc::Status::OK;
  }

  grpc::Status Solve(grpc::ServerContext* ctx, const gw::SolveRequest* req,
                     gw::SolveResponse* resp) override {
    Record(ctx, "BridgeSolve");
    {
      std::lock_guard<std::mutex> lock(d_->mu);
      d_->rec.bridge_solve = *req;
    }
    if (req->frontend() == "fail.v0") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "dockerfile parse error line 1");
    }
    resp->mutable_result()->mutable_ref()->set_id("result-ref-1");
    (*resp->mutable_result()->mutable_metadata())["result.txt"] = "outline text\n";
    return grpc::Status::OK;
  }

  grpc::Status Return(grpc::ServerContext* ctx, const gw::ReturnRequest* req,
                      gw::ReturnResponse*) override {
    Record(ctx, "Return");
    std::lock_guard<std::mutex> lock(d_->mu);
    d_->rec.bridge_return = *req;
    d_->returned = true;
    d_->cv.notify_all();
    return grpc::Status::OK;
  }

 private:
  void Record(grpc::ServerContext* ctx, const std::string& call) {
    std::lock_guard<std::mutex> lock(d_->mu);
    d_->rec.calls.push_back(call);
    d_->rec.bridge_buildid = Header(ctx, "buildkit-controlapi-buildid");
  }

  FakeDaemon::Impl* d_;
};

}  // namespace

void HoldGrpc() {
  static const bool held = (grpc_init(), true);
  (void)held;
}

FakeDaemon::FakeDaemon(std::string dir, std::string pulled_root)
    : dir_(std::move(dir)), impl_(std::make_unique<Impl>()) {
  HoldGrpc();
  impl_->pulled_root = std::move(pulled_root);
}

FakeDaemon::~FakeDaemon() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
  }
}

Status FakeDaemon::Start() {
  auto control = std::make_unique<ControlImpl>(impl_.get());
  auto bridge = std::make_unique<BridgeImpl>(impl_.get());
  grpc::ServerBuilder b;
  b.AddListeningPort(address(), grpc::InsecureServerCredentials());
  b.SetMaxReceiveMessageSize(64 << 20);
  b.SetMaxSendMessageSize(64 << 20);
  b.RegisterService(control.get());
  b.RegisterService(bridge.get());
  server_ = b.BuildAndStart();
  services_.push_back(std::move(control));
  services_.push_back(std::move(bridge));
  if (server_ == nullptr) return Internal("fake daemon failed to start");
  return Status::Ok();
}

void FakeDaemon::SetScript(FakeScript script) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->script = std::move(script);
}

FakeRecord FakeDaemon::record() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->rec;
}

}  // namespace kiln::client::testing
