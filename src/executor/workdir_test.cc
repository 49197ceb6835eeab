#include "executor/workdir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "executor/testing/temp_dir.h"

namespace kiln::executor {
namespace {

using testing::TempDir;
using testing::WriteTestFile;

struct stat Stat(const std::string& p) {
  struct stat st = {};
  lstat(p.c_str(), &st);
  return st;
}

TEST(WorkdirTest, CreatesMissingDirectoriesOwnedByTheUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown to another user";
  TempDir root;
  std::filesystem::create_directories(root.Sub("existing"));
  chmod(root.Sub("existing").c_str(), 0700);
  mode_t old = umask(077);
  Status s = MakeWorkdir(root.path(), "/existing/a/b", 1000, 50);
  umask(old);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const char* d : {"existing/a", "existing/a/b"}) {
    struct stat st = Stat(root.Sub(d));
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << d;
    EXPECT_EQ(st.st_mode & 07777, 0755u) << d;
    EXPECT_EQ(st.st_uid, 1000u) << d;
    EXPECT_EQ(st.st_gid, 50u) << d;
  }
  struct stat st = Stat(root.Sub("existing"));  // left alone
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 0u);
}

TEST(WorkdirTest, SymlinksStayInsideTheRootfs) {
  TempDir root, outside;
  ASSERT_EQ(symlink(outside.path().c_str(), root.Sub("escape").c_str()), 0);
  ASSERT_EQ(symlink("../../..", root.Sub("up").c_str()), 0);
  ASSERT_TRUE(MakeWorkdir(root.path(), "/escape/w", geteuid(), getegid()).ok());
  ASSERT_TRUE(MakeWorkdir(root.path(), "/up/x/y", geteuid(), getegid()).ok());
  EXPECT_FALSE(std::filesystem::exists(outside.Sub("w")));
  // the absolute link target is taken inside the rootfs
  EXPECT_TRUE(std::filesystem::is_directory(root.path() + outside.path() + "/w"));
  EXPECT_TRUE(std::filesystem::is_directory(root.Sub("x/y")));
}

TEST(WorkdirTest, ExistingDirectoryIsFineAndAFileIsAnError) {
  TempDir root;
  EXPECT_TRUE(MakeWorkdir(root.path(), "/", 0, 0).ok());
  WriteTestFile(root.Sub("file"), "x");
  Status s = MakeWorkdir(root.path(), "/file/sub", geteuid(), getegid());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "working directory /file/sub: /file exists and is not a directory");
}

}  // namespace
}  // namespace kiln::executor
