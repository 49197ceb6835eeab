// kilnd's grpc.health.v1.Health over a real in-process gRPC server: Check, List, and Watch,
// which holds its stream open until the client or the daemon ends it.

#include "daemon/health_service.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

namespace kiln::daemon {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    daemon_.Cancel(Cancelled("test over"));
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  Context daemon_ = Context::Background().Child();
  HealthService service_{daemon_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(HealthServiceTest, TheServerIsServingAndOtherServicesAreUnknown) {
  HealthCheckRequest req;
  HealthCheckResponse resp;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->Check(&c1, req, &resp).ok());
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);

  req.set_service("moby.buildkit.v1.Nope");
  grpc::ClientContext c2;
  grpc::Status st = stub_->Check(&c2, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "unknown service");

  grpc::ClientContext c3;
  grpc::health::v1::HealthListResponse list;
  ASSERT_TRUE(stub_->List(&c3, grpc::health::v1::HealthListRequest(), &list).ok());
  ASSERT_EQ(list.statuses().size(), 1u);
  EXPECT_EQ(list.statuses().at("").status(), HealthCheckResponse::SERVING);
}

TEST_F(HealthServiceTest, WatchSendsTheStatusAndEndsWhenTheClientCancels) {
  grpc::ClientContext c;
  auto reader = stub_->Watch(&c, HealthCheckRequest());
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  c.TryCancel();
  EXPECT_FALSE(reader->Read(&resp));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(HealthServiceTest, WatchOfAnUnknownServiceSaysSo) {
  HealthCheckRequest req;
  req.set_service("nope");
  grpc::ClientContext c;
  auto reader = stub_->Watch(&c, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  c.TryCancel();
  reader->Finish();
}

TEST_F(HealthServiceTest, WatchEndsWhenTheDaemonShutsDown) {
  grpc::ClientContext c;
  auto reader = stub_->Watch(&c, HealthCheckRequest());
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  auto start = std::chrono::steady_clock::now();
  daemon_.Cancel(Cancelled("kilnd is shutting down"));
  EXPECT_FALSE(reader->Read(&resp));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace kiln::daemon
