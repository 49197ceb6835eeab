// Symlinks planted in a root (absolute, to "/", or climbing with "..") must resolve inside
// that root: no action may read or write outside it. `host_` plays the rest of the machine.
// Tar-slip cases are in unpack_test.cc.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llbsolver/file/backend.h"
#include "llbsolver/file/testing/temp_root.h"

namespace kiln::llbsolver::file {
namespace {

using testing::Exists;
using testing::ReadFile;
using testing::TempRoot;
using testing::WriteFile;

class EscapeTest : public ::testing::Test {
 protected:
  EscapeTest() {
    WriteFile(host_ / "sentinel", "host data");
    // Three ways out, were symlinks resolved on the host.
    for (const TempRoot* r : {&root_, &src_}) {
      EXPECT_EQ(symlink(host_.path().c_str(), (*r / "abs").c_str()), 0);
      EXPECT_EQ(symlink("/", (*r / "slash").c_str()), 0);
      EXPECT_EQ(symlink("../../../../../../../..", (*r / "up").c_str()), 0);
    }
    WriteFile(src_ / "file", "from src");
  }

  // The host is as it was.
  void ExpectHostUntouched() {
    EXPECT_EQ(testing::Tree(host_.path()), (std::vector<std::string>{"sentinel=host data"}));
  }

  // Where a path through "/abs" really lands: inside the root, at the host path.
  std::string InRootAbs(const TempRoot& r, const std::string& rest) {
    return r.path() + host_.path() + rest;
  }

  Context ctx_ = Context::Background();
  UserResolver users_;
  TempRoot host_;
  TempRoot root_;
  TempRoot src_;
};

TEST_F(EscapeTest, MkdirStaysInside) {
  for (const char* p : {"/abs/made", "/slash/made2", "/up/made3", "/up/../../made4"}) {
    pb::FileActionMkDir a;
    a.set_path(p);
    a.set_mode(0755);
    a.set_makeparents(true);
    a.set_timestamp(-1);
    KILN_ASSERT_OK(Mkdir(ctx_, root_.path(), a, users_));
  }
  EXPECT_TRUE(Exists(InRootAbs(root_, "/made")));
  EXPECT_TRUE(Exists(root_ / "made2"));
  EXPECT_TRUE(Exists(root_ / "made3"));
  EXPECT_TRUE(Exists(root_ / "made4"));
  ExpectHostUntouched();
}

TEST_F(EscapeTest, MkfileStaysInside) {
  testing::MakeDirs(InRootAbs(root_, ""));
  for (const char* p : {"/abs/sentinel", "/slash/f", "/up/g"}) {
    pb::FileActionMkFile a;
    a.set_path(p);
    a.set_data("overwritten?");
    a.set_mode(0644);
    a.set_timestamp(-1);
    KILN_ASSERT_OK(Mkfile(ctx_, root_.path(), a, users_));
  }
  EXPECT_EQ(ReadFile(InRootAbs(root_, "/sentinel")), "overwritten?");
  EXPECT_EQ(ReadFile(root_ / "f"), "overwritten?");
  EXPECT_EQ(ReadFile(root_ / "g"), "overwritten?");
  ExpectHostUntouched();
}

TEST_F(EscapeTest, MkfileOntoASymlinkToTheHostWritesInside) {
  ASSERT_EQ(symlink((host_.path() + "/sentinel").c_str(), (root_ / "trap").c_str()), 0);
  pb::FileActionMkFile a;
  a.set_path("/trap");
  a.set_data("x");
  a.set_mode(0644);
  a.set_timestamp(-1);
  Status s = Mkfile(ctx_, root_.path(), a, users_);
  // The link resolves to <root><host>/sentinel, whose directory does not exist in the root.
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  ExpectHostUntouched();
}

TEST_F(EscapeTest, SymlinkStaysInside) {
  pb::FileActionSymlink a;
  a.set_oldpath("/etc/shadow");
  a.set_newpath("/up/link");
  a.set_timestamp(-1);
  KILN_ASSERT_OK(Symlink(ctx_, root_.path(), a, users_));
  EXPECT_EQ(testing::ReadLink(root_ / "link"), "/etc/shadow");
  ExpectHostUntouched();
}

TEST_F(EscapeTest, RmStaysInside) {
  for (const char* p : {"/abs/sentinel",
                        "/slash"
                        "/sentinel",
                        "/up/sentinel"}) {
    pb::FileActionRm a;
    a.set_path(p);
    a.set_allownotfound(true);
    KILN_ASSERT_OK(Rm(ctx_, root_.path(), a));
    a.set_allownotfound(false);
    EXPECT_EQ(Rm(ctx_, root_.path(), a).code(), Code::kNotFound) << p;
  }
  pb::FileActionRm wild;
  wild.set_path("/abs/*");
  wild.set_allowwildcard(true);
  wild.set_allownotfound(true);
  KILN_ASSERT_OK(Rm(ctx_, root_.path(), wild));
  // Removing the link removes the link only. Inside the root it dangles, so (as in BuildKit)
  // it counts as missing unless allowNotFound.
  pb::FileActionRm link;
  link.set_path("/abs");
  EXPECT_EQ(Rm(ctx_, root_.path(), link).message(), "stat /abs: no such file or directory");
  link.set_allownotfound(true);
  KILN_ASSERT_OK(Rm(ctx_, root_.path(), link));
  EXPECT_FALSE(Exists(root_ / "abs"));
  ExpectHostUntouched();
}

TEST_F(EscapeTest, CopyDestinationStaysInside) {
  for (const char* dest : {"/abs/sentinel", "/slash/into/", "/up/x", "/up/../../y"}) {
    pb::FileActionCopy a;
    a.set_src("/file");
    a.set_dest(dest);
    a.set_mode(-1);
    a.set_timestamp(-1);
    a.set_createdestpath(true);
    KILN_ASSERT_OK(Copy(ctx_, src_.path(), root_.path(), a, users_));
  }
  EXPECT_EQ(ReadFile(InRootAbs(root_, "/sentinel")), "from src");
  EXPECT_EQ(ReadFile(root_ / "into/file"), "from src");
  EXPECT_EQ(ReadFile(root_ / "x"), "from src");
  EXPECT_EQ(ReadFile(root_ / "y"), "from src");
  ExpectHostUntouched();
}

TEST_F(EscapeTest, CopySourceStaysInside) {
  for (const char* src : {"/abs/sentinel", "/slash/../abs/sentinel", "/up/abs/sentinel"}) {
    for (bool follow : {false, true}) {
      pb::FileActionCopy a;
      a.set_src(src);
      a.set_dest("/stolen");
      a.set_mode(-1);
      a.set_timestamp(-1);
      a.set_followsymlink(follow);
      a.set_createdestpath(true);
      Status s = Copy(ctx_, src_.path(), root_.path(), a, users_);
      EXPECT_EQ(s.code(), Code::kNotFound) << src << ": " << s.ToString();
      EXPECT_FALSE(Exists(root_ / "stolen")) << src;
    }
  }
  // A wildcard below a link to the host matches nothing of the host.
  pb::FileActionCopy a;
  a.set_src("/abs/*");
  a.set_dest("/stolen/");
  a.set_mode(-1);
  a.set_allowwildcard(true);
  a.set_followsymlink(true);
  a.set_createdestpath(true);
  Status s = Copy(ctx_, src_.path(), root_.path(), a, users_);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
}

TEST_F(EscapeTest, SymlinksInsideACopiedTreeAreCopiedAsLinks) {
  pb::FileActionCopy a;
  a.set_src("/");
  a.set_dest("/copy");
  a.set_mode(-1);
  a.set_timestamp(-1);
  a.set_dircopycontents(true);
  a.set_createdestpath(true);
  KILN_ASSERT_OK(Copy(ctx_, src_.path(), root_.path(), a, users_));
  EXPECT_EQ(testing::ReadLink(root_ / "copy/abs"), host_.path());
  EXPECT_EQ(testing::ReadLink(root_ / "copy/slash"), "/");
  ExpectHostUntouched();
}

TEST_F(EscapeTest, ExistingSymlinkBelowTheDestinationIsNeverWrittenThrough) {
  WriteFile(src_ / "dir/sentinel", "from src");
  testing::MakeDirs(root_ / "out");
  ASSERT_EQ(symlink(host_.path().c_str(), (root_ / "out/dir").c_str()), 0);
  pb::FileActionCopy a;
  a.set_src("/dir");
  a.set_dest("/out/");
  a.set_mode(-1);
  a.set_timestamp(-1);
  a.set_createdestpath(true);
  Status s = Copy(ctx_, src_.path(), root_.path(), a, users_);
  EXPECT_EQ(s.message(), "failed to copy files: cannot copy to non-directory: /out/dir");
  a.set_alwaysreplaceexistingdestpaths(true);
  KILN_ASSERT_OK(Copy(ctx_, src_.path(), root_.path(), a, users_));
  EXPECT_EQ(ReadFile(root_ / "out/dir/sentinel"), "from src");
  ExpectHostUntouched();
}

}  // namespace
}  // namespace kiln::llbsolver::file
