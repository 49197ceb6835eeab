// What Copy writes: owner, mode, modeStr, timestamp, include/exclude patterns, replacing
// existing entries, and what happens to an existing destination directory.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "llbsolver/file/backend.h"
#include "llbsolver/file/testing/temp_root.h"

namespace kiln::llbsolver::file {
namespace {

using testing::Lstat;
using testing::Perm;
using testing::TempRoot;
using testing::Tree;
using testing::WriteFile;
using Entries = std::vector<std::string>;

constexpr int64_t kTime = 1600000000987654321;

int64_t MtimeNs(const std::string& p) {
  struct stat st = Lstat(p);
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

void SetMtime(const std::string& p, int64_t ns) {
  struct timespec ts[2] = {{ns / 1000000000, ns % 1000000000}, {ns / 1000000000, ns % 1000000000}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

class CopyOptionsTest : public ::testing::Test {
 protected:
  CopyOptionsTest() {
    WriteFile(src_ / "dir/a.txt", "a", 0666);
    WriteFile(src_ / "dir/sub/b.sh", "b", 0744);
    chmod((src_ / "dir/sub").c_str(), 0777);
    chmod((src_ / "dir").c_str(), 0750);
    EXPECT_EQ(symlink("a.txt", (src_ / "dir/l").c_str()), 0);
  }

  // A copy of /dir to dest (createDestPath on, nothing else set).
  pb::FileActionCopy Action(const std::string& dest) {
    pb::FileActionCopy a;
    a.set_src("/dir");
    a.set_dest(dest);
    a.set_mode(-1);
    a.set_timestamp(-1);
    a.set_createdestpath(true);
    return a;
  }

  Status Run(const pb::FileActionCopy& a) {
    return Copy(Context::Background(), src_.path(), dest_.path(), a, users_);
  }

  TempRoot src_;
  TempRoot dest_;
  UserResolver users_;
};

TEST_F(CopyOptionsTest, OwnerByIdAppliesToCopiedEntriesAndCreatedParents) {
  if (!testing::IsRoot()) GTEST_SKIP() << "chown needs root";
  testing::MakeDirs(dest_ / "p");
  pb::FileActionCopy a = Action("/p/q/out");
  a.mutable_owner()->mutable_user()->set_byid(1000);
  a.mutable_owner()->mutable_group()->set_byid(1001);
  KILN_ASSERT_OK(Run(a));
  for (const char* p :
       {"p/q", "p/q/out", "p/q/out/a.txt", "p/q/out/sub", "p/q/out/sub/b.sh", "p/q/out/l"}) {
    EXPECT_EQ(Lstat(dest_ / p).st_uid, 1000u) << p;
    EXPECT_EQ(Lstat(dest_ / p).st_gid, 1001u) << p;
  }
  EXPECT_EQ(Lstat(dest_ / "p").st_uid, 0u) << "an existing parent keeps its owner";
}

TEST_F(CopyOptionsTest, WithoutOwnerTheSourceOwnershipIsKept) {
  if (!testing::IsRoot()) GTEST_SKIP() << "chown needs root";
  ASSERT_EQ(lchown((src_ / "dir/a.txt").c_str(), 123, 456), 0);
  KILN_ASSERT_OK(Run(Action("/out")));
  EXPECT_EQ(Lstat(dest_ / "out/a.txt").st_uid, 123u);
  EXPECT_EQ(Lstat(dest_ / "out/a.txt").st_gid, 456u);
}

TEST_F(CopyOptionsTest, OwnerByNameIsLookedUpInTheNamedInput) {
  if (!testing::IsRoot()) GTEST_SKIP() << "chown needs root";
  WriteFile(dest_ / "etc/passwd", "app:x:1000:1001::/home/app:/bin/sh\n");
  WriteFile(dest_ / "etc/group", "staff:x:50:\n");
  UserResolver users([this](int64_t input) -> Result<std::string> {
    return input == 0 ? dest_.path() : std::string();
  });
  pb::FileActionCopy a = Action("/out");
  a.mutable_owner()->mutable_user()->mutable_byname()->set_name("app");
  KILN_ASSERT_OK(Copy(Context::Background(), src_.path(), dest_.path(), a, users));
  EXPECT_EQ(Lstat(dest_ / "out/sub/b.sh").st_uid, 1000u);
  EXPECT_EQ(Lstat(dest_ / "out/sub/b.sh").st_gid, 1001u);

  a.set_dest("/out2");
  a.mutable_owner()->mutable_group()->mutable_byname()->set_name("staff");
  KILN_ASSERT_OK(Copy(Context::Background(), src_.path(), dest_.path(), a, users));
  EXPECT_EQ(Lstat(dest_ / "out2/a.txt").st_gid, 50u);

  a.set_dest("/out3");
  a.mutable_owner()->mutable_user()->mutable_byname()->set_name("ghost");
  Status s = Copy(Context::Background(), src_.path(), dest_.path(), a, users);
  EXPECT_EQ(s.message(),
            "failed to copy files: unable to find user ghost: no matching entries in passwd file");
  EXPECT_FALSE(testing::Exists(dest_ / "out3"));
}

TEST_F(CopyOptionsTest, ModeReplacesEveryModeButSymlinks) {
  pb::FileActionCopy a = Action("/p/out");
  a.set_mode(04750);
  KILN_ASSERT_OK(Run(a));
  EXPECT_EQ(Perm(dest_ / "p"), 0750u) << "created parents get the mode's permission bits";
  for (const char* p : {"p/out", "p/out/a.txt", "p/out/sub", "p/out/sub/b.sh"}) {
    EXPECT_EQ(Perm(dest_ / p), 04750u) << p;
  }
  EXPECT_TRUE(S_ISLNK(Lstat(dest_ / "p/out/l").st_mode));
}

TEST_F(CopyOptionsTest, ModeStrIsAppliedToEachEntrysOwnMode) {
  struct Case {
    const char* mode_str;
    int mode;  // ignored when mode_str is set
    mode_t dir, a_txt, sub, b_sh;
  };
  const Case cases[] = {
      {"u+x,go-w", -1, 0750, 0744, 0755, 0744},
      {"a+X", -1, 0751, 0666, 0777, 0755},
      {"0640", -1, 0640, 0640, 0640, 0640},
      {"g=u", 0600, 0770, 0666, 0777, 0774},
  };
  for (const Case& c : cases) {
    TempRoot dest;
    pb::FileActionCopy a = Action("/p/out");
    a.set_modestr(c.mode_str);
    a.set_mode(c.mode);
    KILN_ASSERT_OK(Copy(Context::Background(), src_.path(), dest.path(), a, users_));
    // Unprivileged, a directory without u+x must be opened up before looking inside.
    auto look_inside = [](const std::string& dir) {
      if ((Perm(dir) & 0100) == 0) chmod(dir.c_str(), 0700);
    };
    EXPECT_EQ(Perm(dest / "p"), 0755u) << c.mode_str;
    EXPECT_EQ(Perm(dest / "p/out"), c.dir) << c.mode_str;
    look_inside(dest / "p/out");
    EXPECT_EQ(Perm(dest / "p/out/a.txt"), c.a_txt) << c.mode_str;
    EXPECT_EQ(Perm(dest / "p/out/sub"), c.sub) << c.mode_str;
    look_inside(dest / "p/out/sub");
    EXPECT_EQ(Perm(dest / "p/out/sub/b.sh"), c.b_sh) << c.mode_str;
  }
}

TEST_F(CopyOptionsTest, MalformedModeStrFailsBeforeWriting) {
  pb::FileActionCopy a = Action("/p/out");
  a.set_modestr("u+q");
  Status s = Run(a);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "failed to copy files: invalid mode \"u+q\": invalid syntax");
  EXPECT_TRUE(Tree(dest_.path()).empty());
}

TEST_F(CopyOptionsTest, TimestampAppliesToEverythingWritten) {
  KILN_ASSERT_OK(Run([&] {
    pb::FileActionCopy a = Action("/p/q/out");
    a.set_timestamp(kTime);
    return a;
  }()));
  for (const char* p :
       {"p", "p/q", "p/q/out", "p/q/out/a.txt", "p/q/out/sub", "p/q/out/l", "p/q/out/sub/b.sh"}) {
    EXPECT_EQ(MtimeNs(dest_ / p), kTime) << p;
  }
}

TEST_F(CopyOptionsTest, WithoutTimestampSourceTimesAreKept) {
  SetMtime(src_ / "dir/a.txt", 1234567890123456789);
  SetMtime(src_ / "dir/sub", 1111111111222222222);
  KILN_ASSERT_OK(Run(Action("/out")));
  EXPECT_EQ(MtimeNs(dest_ / "out/a.txt"), 1234567890123456789);
  EXPECT_EQ(MtimeNs(dest_ / "out/sub"), 1111111111222222222);
}

TEST_F(CopyOptionsTest, XattrsAreCopied) {
  if (lsetxattr((src_ / "dir/a.txt").c_str(), "user.kiln", "v", 1, 0) != 0) {
    GTEST_SKIP() << "no user xattrs on this filesystem";
  }
  KILN_ASSERT_OK(Run(Action("/out")));
  char buf[8];
  ASSERT_EQ(lgetxattr((dest_ / "out/a.txt").c_str(), "user.kiln", buf, sizeof(buf)), 1);
  EXPECT_EQ(buf[0], 'v');
}

TEST(CopyPatternsTest, IncludeAndExcludePatternsSelectEntries) {
  struct Case {
    const char* name;
    Entries include;
    Entries exclude;
    Entries want;  // under /out
  };
  const Case cases[] = {
      {"include by suffix anywhere",
       {"**/*.txt"},
       {},
       {"a/", "a/keep.txt=k", "b/", "b/c/", "b/c/keep.txt=k", "top.txt=t"}},
      {"include a directory takes what is below",
       {"a"},
       {},
       {"a/", "a/keep.txt=k", "a/skip.log=s"}},
      {"include through a wildcard directory creates only the parents needed",
       {"b/*/keep.txt"},
       {},
       {"b/", "b/c/", "b/c/keep.txt=k"}},
      {"exclude top level only",
       {},
       {"*.log"},
       {"a/", "a/keep.txt=k", "a/skip.log=s", "b/", "b/c/", "b/c/keep.txt=k", "b/d.log=d",
        "top.txt=t"}},
      {"exclude everywhere",
       {},
       {"**/*.log"},
       {"a/", "a/keep.txt=k", "b/", "b/c/", "b/c/keep.txt=k", "top.txt=t"}},
      {"exclude wins over include", {"a"}, {"a/skip.log"}, {"a/", "a/keep.txt=k"}},
      {"exclude with an exception",
       {},
       {"b", "!b/c"},
       {"a/", "a/keep.txt=k", "a/skip.log=s", "b/", "b/c/", "b/c/keep.txt=k", "top.log=l",
        "top.txt=t"}},
      {"nothing included", {"nothing"}, {}, {}},
  };
  for (const Case& c : cases) {
    TempRoot src;
    TempRoot dest;
    WriteFile(src / "a/keep.txt", "k");
    WriteFile(src / "a/skip.log", "s");
    WriteFile(src / "b/c/keep.txt", "k");
    WriteFile(src / "b/d.log", "d");
    WriteFile(src / "top.txt", "t");
    WriteFile(src / "top.log", "l");
    pb::FileActionCopy a;
    a.set_src("/");
    a.set_dest("/out");
    a.set_mode(-1);
    a.set_timestamp(-1);
    a.set_dircopycontents(true);
    a.set_createdestpath(true);
    for (const std::string& p : c.include) a.add_include_patterns(p);
    for (const std::string& p : c.exclude) a.add_exclude_patterns(p);
    KILN_ASSERT_OK(Copy(Context::Background(), src.path(), dest.path(), a, UserResolver()));
    EXPECT_EQ(Tree(dest / "out"), c.want) << c.name;
  }
}

TEST(CopyPatternsTest, MalformedPatternIsAnError) {
  TempRoot src;
  TempRoot dest;
  pb::FileActionCopy a;
  a.set_src("/");
  a.set_dest("/out");
  a.set_mode(-1);
  a.add_include_patterns("[");
  Status s = Copy(Context::Background(), src.path(), dest.path(), a, UserResolver());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("failed to copy files: invalid include patterns [[]"),
            std::string::npos)
      << s.message();
}

TEST(CopyPatternsTest, RequiredPathsMustExistInTheSource) {
  // COPY --parents dir/a.txt: the path is kept under the destination and must exist.
  TempRoot src;
  TempRoot dest;
  WriteFile(src / "dir/a.txt", "a", 0644);
  WriteFile(src / "dir/b.txt", "b", 0644);
  pb::FileActionCopy a;
  a.set_src("/");
  a.set_dest("/out/");
  a.set_mode(-1);
  a.set_timestamp(-1);
  a.set_dircopycontents(true);
  a.set_createdestpath(true);
  a.add_include_patterns("dir/a.txt");
  a.add_required_paths("/dir/a.txt");
  ASSERT_TRUE(Copy(Context::Background(), src.path(), dest.path(), a, UserResolver()).ok());
  EXPECT_EQ(Tree(dest.path()), (Entries{"out/", "out/dir/", "out/dir/a.txt=a"}));

  a.clear_include_patterns();
  a.add_include_patterns("dir/missing.txt");
  a.set_required_paths(0, "/dir/missing.txt");
  Status s = Copy(Context::Background(), src.path(), dest.path(), a, UserResolver());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("\"/dir/missing.txt\": not found"), std::string::npos) << s.message();
}

// Destination entries in the way of the copy of /dir's contents to /out.
TEST_F(CopyOptionsTest, ExistingEntriesOfAnotherKindAreReplacedOnlyWhenAsked) {
  struct Case {
    const char* name;
    void (*setup)(const TempRoot& dest);
    const char* error;  // without alwaysReplaceExistingDestPaths
  };
  const Case cases[] = {
      {"file where a directory goes",
       [](const TempRoot& d) { WriteFile(d / "out/sub", "old file"); },
       "failed to copy files: cannot copy to non-directory: /out/sub"},
      {"directory where a file goes",
       [](const TempRoot& d) { testing::MakeDirs(d / "out/a.txt/inner"); },
       "failed to copy files: cannot replace to directory /out/a.txt with file"},
      {"symlink to a directory where a directory goes",
       [](const TempRoot& d) {
         testing::MakeDirs(d / "elsewhere");
         testing::MakeDirs(d / "out");
         EXPECT_EQ(symlink("/elsewhere", (d / "out/sub").c_str()), 0);
       },
       "failed to copy files: cannot copy to non-directory: /out/sub"},
  };
  for (const Case& c : cases) {
    {
      TempRoot dest;
      c.setup(dest);
      Entries before = Tree(dest.path());
      pb::FileActionCopy a = Action("/out");
      a.set_dircopycontents(true);
      Status s = Copy(Context::Background(), src_.path(), dest.path(), a, users_);
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.name;
      EXPECT_EQ(s.message(), c.error) << c.name;
      EXPECT_EQ(Tree(dest.path()), before) << c.name << ": nothing may be written";
    }
    {
      TempRoot dest;
      c.setup(dest);
      pb::FileActionCopy a = Action("/out");
      a.set_dircopycontents(true);
      a.set_alwaysreplaceexistingdestpaths(true);
      KILN_ASSERT_OK(Copy(Context::Background(), src_.path(), dest.path(), a, users_));
      Entries out = Tree(dest / "out");
      EXPECT_EQ(out, (Entries{"a.txt=a", "l->a.txt", "sub/", "sub/b.sh=b"})) << c.name;
    }
  }
}

TEST_F(CopyOptionsTest, ExistingTargetDirectoryKeepsItsOwnerAndModeButTakesTheSourceTimes) {
  testing::MakeDirs(dest_ / "existing", 0711);
  testing::MakeDirs(dest_ / "existing/sub", 0700);
  SetMtime(src_ / "dir", 1500000000000000001);
  pb::FileActionCopy a = Action("/existing");
  a.set_dircopycontents(true);
  a.set_mode(0640);
  if (testing::IsRoot()) a.mutable_owner()->mutable_user()->set_byid(99);
  KILN_ASSERT_OK(Run(a));
  EXPECT_EQ(Perm(dest_ / "existing"), 0711u);
  EXPECT_EQ(MtimeNs(dest_ / "existing"), 1500000000000000001);
  EXPECT_EQ(Perm(dest_ / "existing/sub"), 0640u) << "a directory below is overwritten";
  if (testing::IsRoot()) {
    EXPECT_EQ(Lstat(dest_ / "existing").st_uid, 0u);
    EXPECT_EQ(Lstat(dest_ / "existing/sub").st_uid, 99u);
  }
}

TEST_F(CopyOptionsTest, ModeStrLeavesAnExistingTargetDirectoryAlone) {
  testing::MakeDirs(dest_ / "existing", 0700);
  pb::FileActionCopy a = Action("/existing");
  a.set_dircopycontents(true);
  a.set_modestr("a+rwx");
  KILN_ASSERT_OK(Run(a));
  EXPECT_EQ(Perm(dest_ / "existing"), 0700u);
  EXPECT_EQ(Perm(dest_ / "existing/a.txt"), 0777u);
}

}  // namespace
}  // namespace kiln::llbsolver::file
