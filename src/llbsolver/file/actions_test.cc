#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llbsolver/file/backend.h"
#include "llbsolver/file/testing/temp_root.h"

namespace kiln::llbsolver::file {
namespace {

using testing::Exists;
using testing::Lstat;
using testing::Perm;
using testing::ReadFile;
using testing::TempRoot;
using testing::Tree;
using testing::WriteFile;
using Entries = std::vector<std::string>;

constexpr int64_t kTime = 1700000000123456789;  // 2023-11-14, with nanoseconds

pb::ChownOpt OwnerId(uint32_t uid, uint32_t gid) {
  pb::ChownOpt c;
  c.mutable_user()->set_byid(uid);
  c.mutable_group()->set_byid(gid);
  return c;
}

int64_t MtimeNs(const std::string& p) {
  struct stat st = Lstat(p);
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

// Sets a restrictive umask for the test: FileOp modes must not depend on it (BuildKit runs
// with umask 0).
class FileActionTest : public ::testing::Test {
 protected:
  FileActionTest() : old_umask_(umask(077)) {}
  ~FileActionTest() override { umask(old_umask_); }

  Context ctx_ = Context::Background();
  UserResolver users_;
  TempRoot root_;
  mode_t old_umask_;
};

TEST_F(FileActionTest, MkdirCreatesWithExactModeOwnerAndTime) {
  pb::FileActionMkDir a;
  a.set_path("/d");
  a.set_mode(0751);
  a.set_timestamp(kTime);
  if (testing::IsRoot()) *a.mutable_owner() = OwnerId(1000, 1001);
  KILN_ASSERT_OK(Mkdir(ctx_, root_.path(), a, users_));
  EXPECT_EQ(Perm(root_ / "d"), 0751u);
  EXPECT_EQ(MtimeNs(root_ / "d"), kTime);
  if (testing::IsRoot()) {
    EXPECT_EQ(Lstat(root_ / "d").st_uid, 1000u);
    EXPECT_EQ(Lstat(root_ / "d").st_gid, 1001u);
  }
}

TEST_F(FileActionTest, MkdirWithParentsCreatesEachLevelAlike) {
  pb::FileActionMkDir a;
  a.set_path("/a/b/c");
  a.set_mode(0700);
  a.set_makeparents(true);
  a.set_timestamp(kTime);
  KILN_ASSERT_OK(Mkdir(ctx_, root_.path(), a, users_));
  for (const char* p : {"a", "a/b", "a/b/c"}) {
    EXPECT_EQ(Perm(root_ / p), 0700u) << p;
    EXPECT_EQ(MtimeNs(root_ / p), kTime) << p;
  }
  // Again: an existing directory is fine and left alone.
  a.set_mode(0755);
  KILN_ASSERT_OK(Mkdir(ctx_, root_.path(), a, users_));
  EXPECT_EQ(Perm(root_ / "a/b/c"), 0700u);
}

TEST_F(FileActionTest, MkdirErrors) {
  WriteFile(root_ / "file", "x");
  struct Case {
    const char* path;
    bool parents;
    Code code;
    const char* message;
  };
  const Case cases[] = {
      {"/missing/d", false, Code::kNotFound, "mkdir /missing/d: no such file or directory"},
      {"/file/d", true, Code::kNotFound, "mkdir /file: not a directory"},
      {"/file/d", false, Code::kNotFound, "mkdir /file/d: not a directory"},
  };
  for (const Case& c : cases) {
    pb::FileActionMkDir a;
    a.set_path(c.path);
    a.set_mode(0755);
    a.set_makeparents(c.parents);
    a.set_timestamp(-1);
    Status s = Mkdir(ctx_, root_.path(), a, users_);
    EXPECT_EQ(s.code(), c.code) << c.path << ": " << s.ToString();
    EXPECT_EQ(s.message(), c.message);
  }
  // Without makeParents an existing entry, even a file, is left alone (as BuildKit).
  pb::FileActionMkDir a;
  a.set_path("/file");
  a.set_mode(0700);
  KILN_ASSERT_OK(Mkdir(ctx_, root_.path(), a, users_));
  EXPECT_EQ(ReadFile(root_ / "file"), "x");
}

TEST_F(FileActionTest, MkfileWritesDataModeOwnerAndTime) {
  pb::FileActionMkFile a;
  a.set_path("/etc/app.conf");
  a.set_data("key=value\n");
  a.set_mode(0640);
  a.set_timestamp(kTime);
  if (testing::IsRoot()) *a.mutable_owner() = OwnerId(7, 8);
  testing::MakeDirs(root_ / "etc");
  KILN_ASSERT_OK(Mkfile(ctx_, root_.path(), a, users_));
  EXPECT_EQ(ReadFile(root_ / "etc/app.conf"), "key=value\n");
  EXPECT_EQ(Perm(root_ / "etc/app.conf"), 0640u);
  EXPECT_EQ(MtimeNs(root_ / "etc/app.conf"), kTime);
  if (testing::IsRoot()) {
    EXPECT_EQ(Lstat(root_ / "etc/app.conf").st_uid, 7u);
  }
}

TEST_F(FileActionTest, MkfileTruncatesAnExistingFileKeepingItsMode) {
  WriteFile(root_ / "f", "a much longer old content", 0600);
  pb::FileActionMkFile a;
  a.set_path("/f");
  a.set_data("new");
  a.set_mode(0777);
  a.set_timestamp(-1);
  KILN_ASSERT_OK(Mkfile(ctx_, root_.path(), a, users_));
  EXPECT_EQ(ReadFile(root_ / "f"), "new");
  EXPECT_EQ(Perm(root_ / "f"), 0600u);
}

TEST_F(FileActionTest, MkfileFollowsASymlinkInsideTheRoot) {
  WriteFile(root_ / "real/target", "old");
  ASSERT_EQ(symlink("/real/target", (root_ / "link").c_str()), 0);
  pb::FileActionMkFile a;
  a.set_path("/link");
  a.set_data("via link");
  a.set_mode(0644);
  a.set_timestamp(-1);
  KILN_ASSERT_OK(Mkfile(ctx_, root_.path(), a, users_));
  EXPECT_EQ(ReadFile(root_ / "real/target"), "via link");
  EXPECT_EQ(testing::ReadLink(root_ / "link"), "/real/target");
}

TEST_F(FileActionTest, MkfileErrors) {
  testing::MakeDirs(root_ / "dir");
  ASSERT_EQ(mkfifo((root_ / "fifo").c_str(), 0644), 0);
  struct Case {
    const char* path;
    const char* message;
  };
  const Case cases[] = {
      {"/dir", "open /dir: is a directory"},
      {"/nope/f", "open /nope/f: no such file or directory"},
      {"/fifo", "open /fifo: not a regular file"},  // would block, or write to a device
  };
  for (const Case& c : cases) {
    pb::FileActionMkFile a;
    a.set_path(c.path);
    a.set_mode(0644);
    Status s = Mkfile(ctx_, root_.path(), a, users_);
    EXPECT_EQ(s.message(), c.message) << s.ToString();
  }
}

TEST_F(FileActionTest, RmRemovesWhatItIsAsked) {
  struct Case {
    const char* name;
    const char* path;
    bool allow_not_found;
    bool wildcard;
    Entries after;  // of the fixture below
    const char* error;
  };
  const Case cases[] = {
      {"file",
       "/top.txt",
       false,
       false,
       {"d/", "d/a.log=a", "d/b.log=b", "d/keep.txt=k", "dangling->/nowhere", "link->/d", "sub/",
        "sub/deep/", "sub/deep/x=x"},
       nullptr},
      {"tree",
       "/sub",
       false,
       false,
       {"d/", "d/a.log=a", "d/b.log=b", "d/keep.txt=k", "dangling->/nowhere", "link->/d",
        "top.txt=t"},
       nullptr},
      {"symlink itself, not its target",
       "/link",
       false,
       false,
       {"d/", "d/a.log=a", "d/b.log=b", "d/keep.txt=k", "dangling->/nowhere", "sub/", "sub/deep/",
        "sub/deep/x=x", "top.txt=t"},
       nullptr},
      {"through a symlinked parent",
       "/link/keep.txt",
       false,
       false,
       {"d/", "d/a.log=a", "d/b.log=b", "dangling->/nowhere", "link->/d", "sub/", "sub/deep/",
        "sub/deep/x=x", "top.txt=t"},
       nullptr},
      {"wildcard",
       "/d/*.log",
       false,
       true,
       {"d/", "d/keep.txt=k", "dangling->/nowhere", "link->/d", "sub/", "sub/deep/", "sub/deep/x=x",
        "top.txt=t"},
       nullptr},
      {"wildcard without matches",
       "/d/*.none",
       false,
       true,
       {"d/", "d/a.log=a", "d/b.log=b", "d/keep.txt=k", "dangling->/nowhere", "link->/d", "sub/",
        "sub/deep/", "sub/deep/x=x", "top.txt=t"},
       nullptr},
      {"missing, allowed",
       "/missing",
       true,
       false,
       {"d/", "d/a.log=a", "d/b.log=b", "d/keep.txt=k", "dangling->/nowhere", "link->/d", "sub/",
        "sub/deep/", "sub/deep/x=x", "top.txt=t"},
       nullptr},
      {"missing wildcard dir, allowed",
       "/missing/*",
       true,
       true,
       {"d/", "d/a.log=a", "d/b.log=b", "d/keep.txt=k", "dangling->/nowhere", "link->/d", "sub/",
        "sub/deep/", "sub/deep/x=x", "top.txt=t"},
       nullptr},
      {"dangling symlink, allowed",
       "/dangling",
       true,
       false,
       {"d/", "d/a.log=a", "d/b.log=b", "d/keep.txt=k", "link->/d", "sub/", "sub/deep/",
        "sub/deep/x=x", "top.txt=t"},
       nullptr},
      {"missing", "/missing", false, false, {}, "stat /missing: no such file or directory"},
      {"dangling symlink",
       "/dangling",
       false,
       false,
       {},
       "stat /dangling: no such file or directory"},
      {"the root", "/", true, false, {}, "rm /: cannot remove the root directory"},
  };
  for (const Case& c : cases) {
    TempRoot root;
    WriteFile(root / "top.txt", "t");
    WriteFile(root / "d/a.log", "a");
    WriteFile(root / "d/b.log", "b");
    WriteFile(root / "d/keep.txt", "k");
    WriteFile(root / "sub/deep/x", "x");
    chmod((root / "sub/deep").c_str(), 0500);  // read-only directories are removed too
    ASSERT_EQ(symlink("/d", (root / "link").c_str()), 0);
    ASSERT_EQ(symlink("/nowhere", (root / "dangling").c_str()), 0);
    pb::FileActionRm a;
    a.set_path(c.path);
    a.set_allownotfound(c.allow_not_found);
    a.set_allowwildcard(c.wildcard);
    Status s = Rm(ctx_, root.path(), a);
    if (c.error != nullptr) {
      EXPECT_EQ(s.message(), c.error) << c.name;
      continue;
    }
    KILN_ASSERT_OK(s);
    EXPECT_EQ(Tree(root.path()), c.after) << c.name;
  }
}

TEST_F(FileActionTest, RmMissingIsNotFound) {
  pb::FileActionRm a;
  a.set_path("/missing");
  EXPECT_EQ(Rm(ctx_, root_.path(), a).code(), Code::kNotFound);
}

TEST_F(FileActionTest, SymlinkStoresTheTargetAsGiven) {
  testing::MakeDirs(root_ / "usr/bin");
  pb::FileActionSymlink a;
  a.set_oldpath("../lib/tool");
  a.set_newpath("/usr/bin/tool");
  a.set_timestamp(kTime);
  if (testing::IsRoot()) *a.mutable_owner() = OwnerId(33, 34);
  KILN_ASSERT_OK(Symlink(ctx_, root_.path(), a, users_));
  EXPECT_EQ(testing::ReadLink(root_ / "usr/bin/tool"), "../lib/tool");
  EXPECT_EQ(MtimeNs(root_ / "usr/bin/tool"), kTime);
  if (testing::IsRoot()) {
    EXPECT_EQ(Lstat(root_ / "usr/bin/tool").st_uid, 33u);
  }
}

TEST_F(FileActionTest, SymlinkOntoAnExistingEntryFails) {
  WriteFile(root_ / "taken", "x");
  pb::FileActionSymlink a;
  a.set_oldpath("/target");
  a.set_newpath("/taken");
  a.set_timestamp(-1);
  Status s = Symlink(ctx_, root_.path(), a, users_);
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_EQ(s.message(), "symlink /target /taken: file exists");
}

TEST_F(FileActionTest, UnknownOwnerFailsBeforeWriting) {
  pb::FileActionMkDir a;
  a.set_path("/d");
  a.set_mode(0755);
  a.mutable_owner()->mutable_user()->mutable_byname()->set_name("app");
  Status s = Mkdir(ctx_, root_.path(), a, users_);
  EXPECT_EQ(s.message(), "unable to find user app: no matching entries in passwd file");
  EXPECT_FALSE(Exists(root_ / "d"));
}

TEST_F(FileActionTest, CancelledContextWritesNothing) {
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("build cancelled"));
  pb::FileActionMkFile a;
  a.set_path("/f");
  Status s = Mkfile(ctx, root_.path(), a, users_);
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_FALSE(Exists(root_ / "f"));
}

TEST_F(FileActionTest, EmptyRootIsRefused) {
  // "" + "/etc/x" would be a host path.
  pb::FileActionMkFile a;
  a.set_path("/kiln-must-not-exist");
  Status s = Mkfile(ctx_, "", a, users_);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_FALSE(Exists("/kiln-must-not-exist"));
  pb::FileActionCopy c;
  c.set_src("/");
  c.set_dest("/x");
  EXPECT_EQ(Copy(ctx_, root_.path(), "", c, users_).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::llbsolver::file
