#include "fsutil/walker.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fsutil/filemode.h"
#include "fsutil/testing/temp_tree.h"

namespace kiln::fsutil {
namespace {

using testing::MakeDir;
using testing::MakeFifo;
using testing::MakeHardlink;
using testing::MakeSymlink;
using testing::TempDir;
using testing::WriteFile;

std::vector<Stat> WalkAll(const std::string& root, const WalkOptions& opts = {}) {
  std::vector<Stat> out;
  Status s = Walk(Context::Background(), root, opts, [&](Stat st) {
    out.push_back(std::move(st));
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<std::string> Paths(const std::vector<Stat>& stats) {
  std::vector<std::string> out;
  for (const Stat& s : stats) out.push_back(s.path());
  return out;
}

std::vector<std::string> WalkPaths(const std::string& root, const WalkOptions& opts = {}) {
  return Paths(WalkAll(root, opts));
}

TEST(WalkerTest, ListsDepthFirstWithByteWiseSortedNames) {
  TempDir t;
  for (const char* f : {"b", "a.txt", "B", "_"}) WriteFile(t.Sub(f), "x");
  MakeDir(t.Sub("a"));
  WriteFile(t.Sub("a/z"), "x");
  WriteFile(t.Sub("a/b"), "x");
  // A directory comes right before its children, so "a/b" precedes "a.txt" even though
  // '.' < '/' in a plain sort of full paths.
  EXPECT_EQ(WalkPaths(t.path()),
            (std::vector<std::string>{"B", "_", "a", "a/b", "a/z", "a.txt", "b"}));
}

TEST(WalkerTest, DescribesEachEntryLikeFsutil) {
  TempDir t;
  WriteFile(t.Sub("file"), "hello", 04755);
  testing::SetMtime(t.Sub("file"), 1700000000, 123456789);
  MakeDir(t.Sub("dir"), 0750);
  MakeSymlink("../target", t.Sub("link"));
  MakeFifo(t.Sub("fifo"), 0640);
  WriteFile(t.Sub("first"), "shared");
  MakeHardlink(t.Sub("first"), t.Sub("second"));
  bool xattrs = testing::TrySetXattr(t.Sub("dir"), "user.kiln", std::string("v\0x", 3));

  WalkOptions opts;
  opts.uid = 0;
  opts.gid = 0;
  std::vector<Stat> stats = WalkAll(t.path(), opts);
  ASSERT_EQ(Paths(stats),
            (std::vector<std::string>{"dir", "fifo", "file", "first", "link", "second"}));
  const Stat& dir = stats[0];
  EXPECT_EQ(dir.mode(), kModeDir | 0750);
  EXPECT_EQ(dir.size(), 0);
  if (xattrs) {
    ASSERT_EQ(dir.xattrs().count("user.kiln"), 1u);
    EXPECT_EQ(dir.xattrs().at("user.kiln"), std::string("v\0x", 3));
  }
  EXPECT_EQ(stats[1].mode(), kModeNamedPipe | 0640);
  const Stat& file = stats[2];
  EXPECT_EQ(file.mode(), kModeSetuid | 0755);
  EXPECT_EQ(file.size(), 5);
  EXPECT_EQ(file.modtime(), 1700000000123456789);
  EXPECT_EQ(file.uid(), 0u);
  EXPECT_EQ(stats[3].linkname(), "");
  EXPECT_EQ(stats[3].size(), 6);
  EXPECT_EQ(stats[4].mode(), kModeSymlink | 0777);
  EXPECT_EQ(stats[4].linkname(), "../target");
  // The second link to an inode points at the first and carries no size.
  EXPECT_EQ(stats[5].linkname(), "first");
  EXPECT_EQ(stats[5].size(), 0);
  EXPECT_TRUE(IsRegular(stats[5].mode()));
}

TEST(WalkerTest, OverridesOwner) {
  TempDir t;
  WriteFile(t.Sub("f"), "x");
  WalkOptions opts;
  opts.uid = 1234;
  opts.gid = 5678;
  std::vector<Stat> stats = WalkAll(t.path(), opts);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].uid(), 1234u);
  EXPECT_EQ(stats[0].gid(), 5678u);
  EXPECT_EQ(WalkAll(t.path())[0].uid(), getuid());
}

// A tree for the filter tests.
void FilterTree(const TempDir& t) {
  MakeDir(t.Sub("a"));
  WriteFile(t.Sub("a/keep.txt"), "x");
  WriteFile(t.Sub("a/drop.log"), "x");
  MakeDir(t.Sub("b"));
  MakeDir(t.Sub("b/c"));
  WriteFile(t.Sub("b/c/deep.txt"), "x");
  MakeDir(t.Sub("node_modules"));
  MakeDir(t.Sub("node_modules/x"));
  WriteFile(t.Sub("node_modules/x/y.js"), "x");
  MakeDir(t.Sub("node_modules/keep"));
  WriteFile(t.Sub("node_modules/keep/z.js"), "x");
  WriteFile(t.Sub("README.md"), "x");
  WriteFile(t.Sub("top.log"), "x");
}

TEST(WalkerTest, ExcludePatternsWithExceptions) {
  TempDir t;
  FilterTree(t);
  WalkOptions opts;
  opts.exclude_patterns = {"node_modules", "!node_modules/keep", "**/*.log"};
  EXPECT_EQ(
      WalkPaths(t.path(), opts),
      (std::vector<std::string>{"README.md", "a", "a/keep.txt", "b", "b/c", "b/c/deep.txt",
                                "node_modules", "node_modules/keep", "node_modules/keep/z.js"}));
}

TEST(WalkerTest, IncludePatternsListParentsOfIncludedEntries) {
  TempDir t;
  FilterTree(t);
  WalkOptions opts;
  opts.include_patterns = {"b/c", "*.md"};
  EXPECT_EQ(WalkPaths(t.path(), opts),
            (std::vector<std::string>{"README.md", "b", "b/c", "b/c/deep.txt"}));

  opts.include_patterns = {"**/*.js"};
  opts.exclude_patterns = {"node_modules/x"};
  EXPECT_EQ(
      WalkPaths(t.path(), opts),
      (std::vector<std::string>{"node_modules", "node_modules/keep", "node_modules/keep/z.js"}));
}

TEST(WalkerTest, FollowPathsIncludeSymlinksAndTheirTargets) {
  TempDir t;
  MakeDir(t.Sub("dir"));
  WriteFile(t.Sub("dir/file"), "x");
  MakeDir(t.Sub("other"));
  WriteFile(t.Sub("other/x"), "x");
  MakeSymlink("dir", t.Sub("link"));
  MakeSymlink("/dir/file", t.Sub("abs"));      // absolute targets are relative to the root
  MakeSymlink("../../../other", t.Sub("up"));  // cannot climb above the root
  WriteFile(t.Sub("Dockerfile"), "x");

  WalkOptions opts;
  opts.follow_paths = {"link"};
  EXPECT_EQ(WalkPaths(t.path(), opts), (std::vector<std::string>{"dir", "dir/file", "link"}));
  opts.follow_paths = {"abs", "Dockerfile"};
  EXPECT_EQ(WalkPaths(t.path(), opts),
            (std::vector<std::string>{"Dockerfile", "abs", "dir", "dir/file"}));
  opts.follow_paths = {"up/x"};
  EXPECT_EQ(WalkPaths(t.path(), opts), (std::vector<std::string>{"other", "other/x", "up"}));
  opts.follow_paths = {"Docker*"};
  EXPECT_EQ(WalkPaths(t.path(), opts), (std::vector<std::string>{"Dockerfile"}));
}

TEST(WalkerTest, HardlinkToAnExcludedPathIsSentAsAFile) {
  TempDir t;
  WriteFile(t.Sub("a"), "shared");
  MakeHardlink(t.Sub("a"), t.Sub("b"));
  WalkOptions opts;
  opts.exclude_patterns = {"a"};
  std::vector<Stat> stats = WalkAll(t.path(), opts);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].path(), "b");
  EXPECT_EQ(stats[0].linkname(), "");
  EXPECT_EQ(stats[0].size(), 6);
}

TEST(WalkerTest, InvalidPatternIsInvalidArgument) {
  TempDir t;
  WalkOptions opts;
  opts.exclude_patterns = {"[oops"};
  Status s = Walk(Context::Background(), t.path(), opts, [](Stat) { return Status::Ok(); });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("[oops"), std::string::npos) << s.message();
}

TEST(WalkerTest, StopsWhenCancelled) {
  TempDir t;
  for (int i = 0; i < 10; i++) WriteFile(t.Sub("f" + std::to_string(i)), "x");
  Context ctx = Context::Background().Child();
  int seen = 0;
  Status s = Walk(ctx, t.path(), {}, [&](Stat) {
    if (++seen == 3) ctx.Cancel(Cancelled("user hit ^C"));
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(seen, 3);
}

TEST(WalkerTest, RootMustBeADirectory) {
  TempDir t;
  WriteFile(t.Sub("f"), "x");
  Status s = Walk(Context::Background(), t.Sub("f"), {}, [](Stat) { return Status::Ok(); });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  s = Walk(Context::Background(), t.Sub("missing"), {}, [](Stat) { return Status::Ok(); });
  EXPECT_EQ(s.code(), Code::kNotFound);
}

}  // namespace
}  // namespace kiln::fsutil
