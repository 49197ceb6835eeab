#include "util/path.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace kiln {
namespace {

TEST(PathTest, CleanMatchesGoPathClean) {
  EXPECT_EQ(CleanPath(""), ".");
  EXPECT_EQ(CleanPath("a//b/../c/"), "a/c");
  EXPECT_EQ(CleanPath("/.."), "/");
  EXPECT_EQ(CleanPath("../a"), "../a");
  EXPECT_EQ(CleanPath("/a/./b/"), "/a/b");
}

TEST(PathTest, JoinUnderCannotClimb) {
  EXPECT_EQ(JoinUnder("/root", "../../etc/passwd"), "/root/etc/passwd");
  EXPECT_EQ(JoinUnder("/root/", "/"), "/root");
}

TEST(PathTest, ResolveInRootKeepsSymlinksInside) {
  char tmpl[] = "/tmp/kiln-path-XXXXXX";
  std::string root = mkdtemp(tmpl);
  std::filesystem::create_directories(root + "/real/dir");
  ASSERT_EQ(symlink("/real", (root + "/abs").c_str()), 0);
  ASSERT_EQ(symlink("../../../../etc", (root + "/escape").c_str()), 0);
  EXPECT_EQ(*ResolveInRoot(root, "/abs/dir", true), root + "/real/dir");
  EXPECT_EQ(*ResolveInRoot(root, "escape/passwd", true), root + "/etc/passwd");
  EXPECT_EQ(*ResolveInRoot(root, "abs", false), root + "/abs");
  std::filesystem::remove_all(root);
}

TEST(PathTest, IsLocalPath) {
  EXPECT_TRUE(IsLocalPath("a/b"));
  EXPECT_FALSE(IsLocalPath("../a"));
  EXPECT_FALSE(IsLocalPath("/a"));
  EXPECT_FALSE(IsLocalPath("a/../../b"));
}

}  // namespace
}  // namespace kiln
