#include "llbsolver/file/user.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "llbsolver/file/testing/temp_root.h"

namespace kiln::llbsolver::file {
namespace {

using testing::TempRoot;
using testing::WriteFile;

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "\n"
    "  app:x:1000:1001::/home/app:/bin/sh  \n"
    "broken:x:abc:1::/:/bin/false\n"
    "svc:x:2000:2000::/:/bin/false\n";
constexpr char kGroup[] =
    "root:x:0:\n"
    "staff:x:50:app\n"
    "appgrp:x:1001:\n";

pb::UserOpt ById(uint32_t id) {
  pb::UserOpt u;
  u.set_byid(id);
  return u;
}

pb::UserOpt ByName(const std::string& name, int64_t input = 0) {
  pb::UserOpt u;
  u.mutable_byname()->set_name(name);
  u.mutable_byname()->set_input(input);
  return u;
}

pb::ChownOpt Chown(std::optional<pb::UserOpt> user, std::optional<pb::UserOpt> group) {
  pb::ChownOpt c;
  if (user) *c.mutable_user() = *user;
  if (group) *c.mutable_group() = *group;
  return c;
}

// Input 0 has passwd and group files, input 1 is scratch, input 2 has only a group file.
class UserResolverTest : public ::testing::Test {
 protected:
  UserResolverTest()
      : users_([this](int64_t input) -> Result<std::string> {
          if (input == 0) return with_files_.path();
          if (input == 1) return std::string();
          if (input == 2) return groups_only_.path();
          return NotFound("no input " + std::to_string(input));
        }) {
    WriteFile(with_files_ / "etc/passwd", kPasswd);
    WriteFile(with_files_ / "etc/group", kGroup);
    WriteFile(groups_only_ / "etc/group", "wheel:x:10:\n");
  }

  TempRoot with_files_;
  TempRoot groups_only_;
  UserResolver users_;
};

TEST_F(UserResolverTest, NoChownLeavesOwnershipAlone) {
  Result<std::optional<Owner>> r = users_.Resolve(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
}

TEST_F(UserResolverTest, ResolvesIdsAndNames) {
  struct Case {
    const char* name;
    pb::ChownOpt chown;
    Owner want;
  };
  const Case cases[] = {
      {"user id sets group too", Chown(ById(5), std::nullopt), {5, 5}},
      {"user and group ids", Chown(ById(5), ById(6)), {5, 6}},
      {"user name takes primary group", Chown(ByName("app"), std::nullopt), {1000, 1001}},
      {"user and group names", Chown(ByName("app"), ByName("staff")), {1000, 50}},
      {"group only means uid 0", Chown(std::nullopt, ByName("staff")), {0, 50}},
      {"empty chown means root", Chown(std::nullopt, std::nullopt), {0, 0}},
      {"numeric name matches uid", Chown(ByName("1000"), std::nullopt), {1000, 1001}},
      {"numeric name without entry", Chown(ByName("1234"), std::nullopt), {1234, 1234}},
      {"numeric group without entry", Chown(ByName("app"), ByName("77")), {1000, 77}},
      {"numeric group matches gid", Chown(ById(3), ByName("1001")), {3, 1001}},
      {"numeric name in scratch", Chown(ByName("42", 1), ByName("43", 1)), {42, 43}},
      {"group from another input", Chown(ByName("app"), ByName("wheel", 2)), {1000, 10}},
      {"svc after a broken line", Chown(ByName("svc"), std::nullopt), {2000, 2000}},
  };
  for (const Case& c : cases) {
    Result<std::optional<Owner>> r = users_.Resolve(&c.chown);
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().ToString();
    ASSERT_TRUE(r->has_value()) << c.name;
    EXPECT_EQ(r->value(), c.want) << c.name << ": got " << (*r)->uid << ":" << (*r)->gid;
  }
}

TEST_F(UserResolverTest, UnknownNamesAreErrorsNamingThem) {
  struct Case {
    pb::ChownOpt chown;
    Code code;
    std::string message;
  };
  const Case cases[] = {
      {Chown(ByName("nobody"), std::nullopt), Code::kNotFound,
       "unable to find user nobody: no matching entries in passwd file"},
      {Chown(ByName("app"), ByName("nogroup")), Code::kNotFound,
       "unable to find group nogroup: no matching entries in group file"},
      {Chown(ByName("app", 1), std::nullopt), Code::kNotFound,
       "unable to find user app: no matching entries in passwd file"},
      {Chown(ByName("app", 2), std::nullopt), Code::kNotFound,
       "unable to find user app: no matching entries in passwd file"},
      {Chown(ByName("broken"), std::nullopt), Code::kNotFound,
       "unable to find user broken: no matching entries in passwd file"},
      {Chown(ByName("app", -1), std::nullopt), Code::kInvalidArgument, "invalid user index: -1"},
      {Chown(ByName("9999999999"), std::nullopt), Code::kInvalidArgument,
       "invalid user 9999999999: ids must be in range 0-2147483647"},
      {Chown(ByName("app", 7), std::nullopt), Code::kNotFound, "no input 7"},
  };
  for (const Case& c : cases) {
    Result<std::optional<Owner>> r = users_.Resolve(&c.chown);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(UserResolverFilesTest, PasswdIsReadInsideTheRoot) {
  // /etc -> "../../.." must resolve to the root itself, not to the host's /etc.
  TempRoot root;
  ASSERT_EQ(symlink("../../..", (root / "etc").c_str()), 0);
  WriteFile(root / "passwd", "inroot:x:4242:4343::/:/bin/sh\n");
  UserResolver users([&root](int64_t) -> Result<std::string> { return root.path(); });
  pb::ChownOpt in_root = Chown(ByName("inroot"), std::nullopt);
  Result<std::optional<Owner>> r = users.Resolve(&in_root);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value(), (Owner{4242, 4343}));
  // The host's root user is not visible.
  pb::ChownOpt host = Chown(ByName("root"), std::nullopt);
  EXPECT_EQ(users.Resolve(&host).status().code(), Code::kNotFound);
}

TEST(UserResolverFilesTest, PasswdMustBeARegularFile) {
  TempRoot root;
  testing::MakeDirs(root / "etc/passwd");
  UserResolver users([&root](int64_t) -> Result<std::string> { return root.path(); });
  pb::ChownOpt c = Chown(ByName("app"), std::nullopt);
  Result<std::optional<Owner>> r = users.Resolve(&c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/etc/passwd is not a regular file");
  // A FIFO is refused without being opened (opening it would block).
  TempRoot fifo_root;
  testing::MakeDirs(fifo_root / "etc");
  ASSERT_EQ(mkfifo((fifo_root / "etc/passwd").c_str(), 0644), 0);
  UserResolver fifo_users(
      [&fifo_root](int64_t) -> Result<std::string> { return fifo_root.path(); });
  EXPECT_EQ(fifo_users.Resolve(&c).status().message(), "/etc/passwd is not a regular file");
}

TEST(UserResolverFilesTest, DefaultResolverKnowsOnlyIds) {
  UserResolver users;
  pb::ChownOpt numeric = Chown(ByName("7"), std::nullopt);
  ASSERT_TRUE(users.Resolve(&numeric).ok());
  EXPECT_EQ(users.Resolve(&numeric)->value(), (Owner{7, 7}));
  pb::ChownOpt named = Chown(ByName("app"), std::nullopt);
  EXPECT_EQ(users.Resolve(&named).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace kiln::llbsolver::file
