#include "util/status.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd number " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  KILN_ASSIGN_OR_RETURN(int h, Half(x));
  KILN_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, ResultCarriesValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "odd number 3");
}

TEST(StatusTest, AnnotateKeepsCodeAndDetails) {
  Status s = Internal("boom").WithExitCode(3).WithVertex("sha256:aa").Annotate("mount rootfs");
  EXPECT_EQ(s.message(), "mount rootfs: boom");
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_EQ(s.details().exit_code, 3);
  EXPECT_EQ(s.details().vertex, "sha256:aa");
}

TEST(StatusTest, ErrnoMapsToCodes) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "open x").code(), Code::kNotFound);
  EXPECT_EQ(ErrnoStatus(EEXIST, "mkdir").code(), Code::kAlreadyExists);
  EXPECT_NE(ErrnoStatus(ENOENT, "open x").message().find("open x: "), std::string::npos);
}

Result<int> FailingResult() {
  return Internal("a long enough message to live on the heap, not inline");
}

Status ReturnsTheStatusOfATemporary() {
  KILN_RETURN_IF_ERROR(FailingResult().status());
  return Status::Ok();
}

// status() of a temporary Result is a value: the macro must not keep a reference into the
// Result destroyed at the end of the full expression (ASan reports the use after free).
TEST(ResultTest, StatusOfATemporaryOutlivesIt) {
  Status s = ReturnsTheStatusOfATemporary();
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_EQ(s.message(), "a long enough message to live on the heap, not inline");
}

}  // namespace
}  // namespace kiln
