// kiln's own gRPC client transport (rpc/connection.h) against gRPC's C++ server, the daemon's
// stack: unary and streaming calls, metadata, statuses with typed details, large messages both
// ways (flow control), deadlines, cancellation seen by the server, a server that goes away.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "client/connection.h"
#include "client/testing/fake_daemon.h"
#include "control/control.grpc.pb.h"
#include "rpc/typed.h"
#include "session/grpc_status.h"
#include "util/error_details.h"

namespace kiln::client {
namespace {

namespace bk = moby::buildkit::v1;
using ::testing::HasSubstr;

constexpr char kListWorkers[] = "/moby.buildkit.v1.Control/ListWorkers";
constexpr char kStatus[] = "/moby.buildkit.v1.Control/Status";
constexpr char kSolve[] = "/moby.buildkit.v1.Control/Solve";
constexpr char kSession[] = "/moby.buildkit.v1.Control/Session";

class TestControl final : public bk::Control::Service {
 public:
  // Answers one worker whose id is the value of header x-test; header fail=1 fails with a
  // status that carries a source location.
  grpc::Status ListWorkers(grpc::ServerContext* sc, const bk::ListWorkersRequest* req,
                           bk::ListWorkersResponse* resp) override {
    std::string value;
    for (const auto& [k, v] : sc->client_metadata()) {
      if (k == "x-test") value.assign(v.data(), v.size());
      if (k == "fail") {
        kiln::Status s(Code::kNotFound, "no such worker: 100% \"gone\"\nsecond line");
        SourceLocation src;
        src.filename = "Dockerfile";
        src.ranges.push_back({3, 3});
        s.mutable_details().sources.push_back(src);
        return session::ToGrpcStatus(s);
      }
    }
    resp->add_record()->set_id(value);
    for (const std::string& f : req->filter()) resp->add_record()->set_id(f);
    return grpc::Status::OK;
  }

  // ref "N:SIZE" sends N messages of SIZE bytes (in a vertex name); ref "forever" sends until
  // the client cancels.
  grpc::Status Status(grpc::ServerContext* sc, const bk::StatusRequest* req,
                      grpc::ServerWriter<bk::StatusResponse>* w) override {
    if (req->ref() == "forever") {
      bk::StatusResponse msg;
      msg.add_vertexes()->set_name(std::string(1000, 'x'));
      while (!sc->IsCancelled()) {
        if (!w->Write(msg)) break;
      }
      saw_cancel = sc->IsCancelled();
      return grpc::Status::OK;
    }
    int n = std::stoi(req->ref().substr(0, req->ref().find(':')));
    size_t size = std::stoul(req->ref().substr(req->ref().find(':') + 1));
    for (int i = 0; i < n; ++i) {
      bk::StatusResponse msg;
      msg.add_vertexes()->set_name(std::string(size, static_cast<char>('a' + i % 26)));
      if (!w->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
    }
    return grpc::Status::OK;
  }

  // Waits until the client goes away (deadline or cancellation).
  grpc::Status Solve(grpc::ServerContext* sc, const bk::SolveRequest*,
                     bk::SolveResponse*) override {
    while (!sc->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    saw_cancel = true;
    return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
  }

  // Echoes every message back.
  grpc::Status Session(grpc::ServerContext*,
                       grpc::ServerReaderWriter<bk::BytesMessage, bk::BytesMessage>* s) override {
    bk::BytesMessage m;
    while (s->Read(&m)) {
      if (!s->Write(m)) break;
    }
    return grpc::Status::OK;
  }

  std::atomic<bool> saw_cancel{false};
};

class RpcInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpc();
    char tmpl[] = "/tmp/kiln-rpc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    address_ = "unix://" + dir_ + "/s.sock";
    grpc::ServerBuilder b;
    b.AddListeningPort(address_, grpc::InsecureServerCredentials());
    b.SetMaxReceiveMessageSize(64 << 20);
    b.SetMaxSendMessageSize(64 << 20);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto conn = Dial(address_);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
  }

  void TearDown() override {
    conn_.reset();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    unlink((dir_ + "/s.sock").c_str());
    rmdir(dir_.c_str());
  }

  std::string dir_;
  std::string address_;
  TestControl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rpc::Connection> conn_;
};

TEST_F(RpcInteropTest, UnaryCallsCarryMetadataAndRunAtOnce) {
  rpc::CallOptions opts;
  opts.metadata = {{"x-test", "w1"}};
  bk::ListWorkersRequest req;
  req.add_filter("f1");
  std::vector<std::unique_ptr<rpc::Unary<bk::ListWorkersResponse>>> calls;
  for (int i = 0; i < 20; ++i) {
    calls.push_back(
        std::make_unique<rpc::Unary<bk::ListWorkersResponse>>(*conn_, kListWorkers, req, opts));
  }
  for (auto& c : calls) {
    ASSERT_TRUE(c->Wait().ok()) << c->Wait().message;
    ASSERT_EQ(c->response().record_size(), 2);
    EXPECT_EQ(c->response().record(0).id(), "w1");
    EXPECT_EQ(c->response().record(1).id(), "f1");
  }
}

TEST_F(RpcInteropTest, ErrorsKeepCodeMessageAndTypedDetails) {
  rpc::CallOptions opts;
  opts.metadata = {{"fail", "1"}};
  rpc::Unary<bk::ListWorkersResponse> call(*conn_, kListWorkers, bk::ListWorkersRequest(), opts);
  Status s = session::FromWireStatus(call.Wait());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "no such worker: 100% \"gone\"\nsecond line");
  ASSERT_EQ(s.details().sources.size(), 1u);
  EXPECT_EQ(s.details().sources[0].filename, "Dockerfile");
}

TEST_F(RpcInteropTest, LargeStreamsFlowBothWays) {
  // 40 MiB down in 4 MiB messages: more than every flow-control window.
  bk::StatusRequest req;
  req.set_ref("10:4194304");
  std::unique_ptr<rpc::Call> call = conn_->StartCall(kStatus, {}, req.SerializeAsString());
  bk::StatusResponse resp;
  rpc::RpcStatus parse;
  int n = 0;
  while (rpc::ReadMessage(*call, &resp, &parse)) {
    ASSERT_EQ(resp.vertexes(0).name().size(), 4194304u);
    EXPECT_EQ(resp.vertexes(0).name()[0], static_cast<char>('a' + n % 26));
    ++n;
  }
  EXPECT_TRUE(parse.ok());
  EXPECT_TRUE(call->Finish().ok()) << call->Finish().message;
  EXPECT_EQ(n, 10);

  // Up and back on a bidi stream, writes and reads interleaved from two threads.
  std::unique_ptr<rpc::Call> echo = conn_->StartCall(kSession);
  std::thread writer([&] {
    for (int i = 0; i < 24; ++i) {
      bk::BytesMessage m;
      m.set_data(std::string(1 << 20, static_cast<char>('A' + i)));
      ASSERT_TRUE(echo->Write(m.SerializeAsString()));
    }
    echo->CloseSend();
  });
  int got = 0;
  for (std::string bytes; echo->Read(&bytes); ++got) {
    bk::BytesMessage m;
    ASSERT_TRUE(m.ParseFromString(bytes));
    ASSERT_EQ(m.data(), std::string(1 << 20, static_cast<char>('A' + got)));
  }
  writer.join();
  EXPECT_EQ(got, 24);
  EXPECT_TRUE(echo->Finish().ok());
}

TEST_F(RpcInteropTest, DeadlineEndsTheCallOnBothSides) {
  rpc::CallOptions opts;
  opts.deadline = rpc::Clock::now() + std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  rpc::Unary<bk::SolveResponse> call(*conn_, kSolve, bk::SolveRequest(), opts);
  EXPECT_EQ(call.Wait().code, static_cast<int>(Code::kDeadlineExceeded));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  for (int i = 0; i < 400 && !service_.saw_cancel; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(service_.saw_cancel);
}

TEST_F(RpcInteropTest, CancelReachesTheServerAndTheConnectionStaysUsable) {
  bk::StatusRequest req;
  req.set_ref("forever");
  std::unique_ptr<rpc::Call> call = conn_->StartCall(kStatus, {}, req.SerializeAsString());
  std::string bytes;
  ASSERT_TRUE(call->Read(&bytes));
  call->Cancel();
  EXPECT_EQ(call->Finish().code, static_cast<int>(Code::kCancelled));
  EXPECT_FALSE(call->Read(&bytes));
  for (int i = 0; i < 400 && !service_.saw_cancel; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(service_.saw_cancel);
  rpc::Unary<bk::ListWorkersResponse> next(*conn_, kListWorkers, bk::ListWorkersRequest());
  EXPECT_TRUE(next.Wait().ok());
}

TEST_F(RpcInteropTest, UnknownMethodIsUnimplemented) {
  rpc::Unary<bk::ListWorkersResponse> call(*conn_, "/moby.buildkit.v1.Control/NoSuchMethod",
                                           bk::ListWorkersRequest());
  EXPECT_EQ(call.Wait().code, static_cast<int>(Code::kUnimplemented));
}

TEST_F(RpcInteropTest, AServerThatGoesAwayFailsCallsAsUnavailable) {
  bk::StatusRequest req;
  req.set_ref("forever");
  std::unique_ptr<rpc::Call> call = conn_->StartCall(kStatus, {}, req.SerializeAsString());
  std::string bytes;
  ASSERT_TRUE(call->Read(&bytes));
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  while (call->Read(&bytes)) {
  }
  int code = call->Finish().code;
  EXPECT_TRUE(code == static_cast<int>(Code::kUnavailable) ||
              code == static_cast<int>(Code::kCancelled))
      << code;
  rpc::Unary<bk::ListWorkersResponse> next(*conn_, kListWorkers, bk::ListWorkersRequest());
  EXPECT_EQ(next.Wait().code, static_cast<int>(Code::kUnavailable));
}

TEST(RpcDialTest, NothingListeningIsUnavailableNamingTheSocket) {
  auto conn = Dial("unix:///nonexistent/kiln.sock");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Code::kUnavailable);
  EXPECT_THAT(conn.status().message(), HasSubstr("/nonexistent/kiln.sock"));
  EXPECT_EQ(Dial("http://x").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::client
