// How a build's failure goes out over gRPC (BuildErrorToGrpc).

#include "daemon/grpc_util.h"

#include <gtest/gtest.h>

#include "google/rpc/status.pb.h"

namespace kiln::daemon {
namespace {

TEST(BuildErrorToGrpcTest, BadInputGoesOutWithoutACodeAsBuildKitSendsIt) {
  Status bad = InvalidArgument("dockerfile parse error on line 3: unknown instruction: FROOM")
                   .WithSource(SourceLocation{"Dockerfile", "FROM scratch\n\nFROOM x\n", {{3, 3}}});
  grpc::Status g = BuildErrorToGrpc(bad);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(g.error_message(), bad.message());
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(g.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::UNKNOWN));  // agrees with the header
  Status back = session::FromGrpcStatus(g);
  ASSERT_EQ(back.details().sources.size(), 1u);
  EXPECT_EQ(back.details().sources[0].filename, "Dockerfile");
  EXPECT_EQ(back.details().sources[0].ranges[0].first, 3);
}

TEST(BuildErrorToGrpcTest, OtherFailuresAreUnknownAsInBuildKit) {
  grpc::Status g = BuildErrorToGrpc(NotFound("failed to compute cache key: \"/nope\": not found"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(g.error_message(), "failed to compute cache key: \"/nope\": not found");
  EXPECT_EQ(BuildErrorToGrpc(Unavailable("lookup nosuch.invalid: no such host")).error_code(),
            grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(BuildErrorToGrpc(Internal("snapshot gone")).error_code(), grpc::StatusCode::UNKNOWN);
}

TEST(BuildErrorToGrpcTest, CodesThatClientsActOnAreKept) {
  EXPECT_EQ(BuildErrorToGrpc(Cancelled("context canceled")).error_code(),
            grpc::StatusCode::CANCELLED);
  EXPECT_EQ(BuildErrorToGrpc(Unimplemented("no such frontend")).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(BuildErrorToGrpc(Status(Code::kDeadlineExceeded, "too slow")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(BuildErrorToGrpc(Status::Ok()).ok());
}

}  // namespace
}  // namespace kiln::daemon
