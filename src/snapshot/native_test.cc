#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "snapshot/snapshotter.h"
#include "util/fs_copy.h"

namespace kiln::snapshot {
namespace {

class NativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-snap-XXXXXX";
    root_ = mkdtemp(tmpl);
    auto s = NewNativeSnapshotter(root_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sn_ = std::move(*s);
  }
  void TearDown() override { RemoveAll(root_).IgnoreError(); }
  std::string root_;
  std::unique_ptr<Snapshotter> sn_;
};

TEST_F(NativeTest, ChildSeesParentAndWritesStayInChild) {
  Context ctx = Context::Background();
  ASSERT_TRUE(sn_->Prepare(ctx, "a", "").ok());
  {
    auto m = sn_->MountSnapshot("a", false);
    ASSERT_TRUE(m.ok());
    std::ofstream((*m)->path() + "/f") << "one";
  }
  ASSERT_TRUE(sn_->Commit("a").ok());
  EXPECT_FALSE(sn_->MountSnapshot("a", false).ok());  // committed: read-only
  ASSERT_TRUE(sn_->Prepare(ctx, "b", "a").ok());
  auto mb = sn_->MountSnapshot("b", false);
  ASSERT_TRUE(mb.ok());
  std::ofstream((*mb)->path() + "/f") << "two";
  auto ma = sn_->MountSnapshot("a", true);
  std::ifstream in((*ma)->path() + "/f");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "one");
  auto list = sn_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
}

TEST_F(NativeTest, RejectsBadKeysAndMissingParents) {
  Context ctx = Context::Background();
  EXPECT_EQ(sn_->Prepare(ctx, "../x", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(sn_->Prepare(ctx, "c", "nope").code(), Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/c"));
  ASSERT_TRUE(sn_->Prepare(ctx, "d", "").ok());
  EXPECT_EQ(sn_->Prepare(ctx, "d", "").code(), Code::kAlreadyExists);
  // Whole trees: no upper dir to write into or to diff from.
  EXPECT_EQ(sn_->UpperDir("d").status().code(), Code::kUnimplemented);
  EXPECT_EQ(sn_->DiffDirs("d").status().code(), Code::kUnimplemented);
}

TEST_F(NativeTest, RemoveAndLeftoversAreCleaned) {
  Context ctx = Context::Background();
  ASSERT_TRUE(sn_->Prepare(ctx, "a", "").ok());
  ASSERT_TRUE(sn_->Remove("a").ok());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/a"));
  std::filesystem::create_directories(root_ + "/.tmp-crashed/fs");
  auto again = NewNativeSnapshotter(root_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/.tmp-crashed"));
}

}  // namespace
}  // namespace kiln::snapshot
