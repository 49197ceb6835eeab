#include "executor/user.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "executor/testing/temp_dir.h"

namespace kiln::executor {
namespace {

using testing::TempDir;
using testing::WriteTestFile;

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "daemon:x:1:1::/:/bin/false\n"
    "broken line\n"
    "user:x:1000:1000:User:/home/user:/bin/sh\n"
    "other:x:1001:1001::/:/bin/sh\n";
const char kGroup[] =
    "root:x:0:root\n"
    "daemon:x:1:\n"
    "staff:x:50:user,other\n"
    "user:x:1000:\n"
    "wheel:x:10:root, user\n"
    "admins:x:60:other\n";

TEST(UserTest, ResolvesEveryFormLikeRunc) {
  struct Case {
    std::string spec;
    UserIds want;
  };
  const Case cases[] = {
      {"", {0, 0, {0, 10}}},
      {"root", {0, 0, {0, 10}}},
      {"0", {0, 0, {0, 10}}},
      {"user", {1000, 1000, {50}}},    // " user" in wheel is not "user", as in runc
      {"1000", {1000, 1000, {50}}},    // a uid in passwd gets its groups too
      {"4242", {4242, 0, {}}},         // a uid not in passwd: gid 0
      {"user:staff", {1000, 50, {}}},  // explicit group: no supplementary groups
      {"user:60", {1000, 60, {}}},
      {"user:777", {1000, 777, {}}},  // a numeric group not in the group file
      {"other:user", {1001, 1000, {}}},
      {"1000:1000", {1000, 1000, {}}},  // numbers: taken as is
      {"root:staff", {0, 50, {}}},
      {"4242:staff", {4242, 50, {}}},
  };
  for (const auto& c : cases) {
    auto got = ResolveUser(c.spec, kPasswd, kGroup);
    ASSERT_TRUE(got.ok()) << c.spec << ": " << got.status().ToString();
    EXPECT_EQ(got->uid, c.want.uid) << c.spec;
    EXPECT_EQ(got->gid, c.want.gid) << c.spec;
    EXPECT_EQ(got->additional_gids, c.want.additional_gids) << c.spec;
  }
}

TEST(UserTest, UnknownNamesAreClearErrors) {
  auto u = ResolveUser("nobody", kPasswd, kGroup);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), Code::kNotFound);
  EXPECT_EQ(u.status().message(), "unable to find user nobody: no matching entries in passwd file");
  auto g = ResolveUser("user:nogroup", kPasswd, kGroup);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(),
            "unable to find group nogroup: no matching entries in group file");
}

TEST(UserTest, MissingFilesWorkWithNumbersOnly) {
  EXPECT_EQ(*ResolveUser("", std::nullopt, std::nullopt), (UserIds{0, 0, {}}));
  EXPECT_EQ(*ResolveUser("123", std::nullopt, std::nullopt), (UserIds{123, 0, {}}));
  EXPECT_EQ(*ResolveUser("123:45", std::nullopt, std::nullopt), (UserIds{123, 45, {}}));
  EXPECT_EQ(*ResolveUser("user", kPasswd, std::nullopt), (UserIds{1000, 1000, {}}));
  EXPECT_FALSE(ResolveUser("user", std::nullopt, std::nullopt).ok());
  EXPECT_FALSE(ResolveUser("123:staff", std::nullopt, std::nullopt).ok());
}

TEST(UserTest, ReadsFilesInsideTheRootfsOnly) {
  TempDir root, outside;
  ASSERT_FALSE(root.path().empty());
  WriteTestFile(outside.Sub("passwd"), "evil:x:666:666::/:/bin/sh\n");
  std::filesystem::create_directories(root.Sub("etc"));
  // An absolute symlink is resolved inside the rootfs, not on the host.
  ASSERT_EQ(symlink((outside.path() + "/passwd").c_str(), root.Sub("etc/passwd").c_str()), 0);
  auto evil = ResolveUserInRootfs(root.path(), "evil");
  ASSERT_FALSE(evil.ok());
  EXPECT_EQ(evil.status().code(), Code::kNotFound);
  // A relative link climbing out stays in the rootfs too.
  std::filesystem::remove(root.Sub("etc/passwd"));
  ASSERT_EQ(symlink("../../../../../../../../etc/shadow", root.Sub("etc/passwd").c_str()), 0);
  EXPECT_FALSE(ResolveUserInRootfs(root.path(), "root").ok());
  std::filesystem::remove(root.Sub("etc/passwd"));
  WriteTestFile(root.Sub("etc/real-passwd"), kPasswd);
  ASSERT_EQ(symlink("/etc/real-passwd", root.Sub("etc/passwd").c_str()), 0);
  WriteTestFile(root.Sub("etc/group"), kGroup);
  EXPECT_EQ(*ResolveUserInRootfs(root.path(), "user"), (UserIds{1000, 1000, {50}}));
  // a directory where /etc/group should be counts as no file
  std::filesystem::remove(root.Sub("etc/group"));
  std::filesystem::create_directories(root.Sub("etc/group"));
  EXPECT_EQ(*ResolveUserInRootfs(root.path(), "user"), (UserIds{1000, 1000, {}}));
}

}  // namespace
}  // namespace kiln::executor
