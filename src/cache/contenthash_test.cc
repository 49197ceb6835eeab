#include "cache/contenthash.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "util/fs_copy.h"

namespace kiln::cache {
namespace {

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::kiln::Status s_ = (expr);                             \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln-contenthash-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool IsRoot() { return geteuid() == 0; }

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  chmod(path.c_str(), mode);
}

Digest Sum(const std::string& root, std::string_view path, const ChecksumOptions& opts = {}) {
  Result<Digest> d = Checksum(Context::Background(), root, path, opts);
  EXPECT_TRUE(d.ok()) << path << ": " << d.status().ToString();
  return d.ok() ? *d : Digest();
}

// The tree every row starts from.
void BuildTree(const std::string& r) {
  mkdir((r + "/dir").c_str(), 0755);
  setxattr((r + "/dir").c_str(), "user.dx", "1", 1, 0);
  WriteFile(r + "/dir/file", "content");
  setxattr((r + "/dir/file").c_str(), "user.fx", "a", 1, 0);
  WriteFile(r + "/dir/exe", "#!/bin/sh\n", 0755);
  symlink("file", (r + "/dir/link").c_str());
  mkdir((r + "/dir/sub").c_str(), 0700);
  WriteFile(r + "/dir/sub/deep", "d");
  WriteFile(r + "/top.txt", "top");
  if (IsRoot()) mknod((r + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
}

// A change applied to a fresh tree; returns the tree to checksum afterwards (usually root), or
// "" to skip the row (the reason goes to *skip).
using Mutation = std::function<std::string(const std::string& root, std::string* skip)>;

struct Row {
  std::string name;
  std::string path;  // checksummed path inside the tree
  bool changes;      // whether the digest must change
  bool needs_root;
  Mutation mutate;
};

void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

class ChecksumTableTest : public ::testing::TestWithParam<Row> {};

TEST_P(ChecksumTableTest, DigestChangesExactlyWhenCovered) {
  const Row& row = GetParam();
  if (row.needs_root && !IsRoot()) GTEST_SKIP() << "needs root (chown, mknod, trusted.*)";
  TempDir t;
  std::string root = t.path() + "/tree";
  mkdir(root.c_str(), 0755);
  BuildTree(root);
  Digest before = Sum(root, row.path);
  std::string skip;
  std::string after_root = row.mutate(root, &skip);
  if (after_root.empty()) GTEST_SKIP() << skip;
  Digest after = Sum(after_root, row.path);
  if (row.changes) {
    EXPECT_NE(before, after);
  } else {
    EXPECT_EQ(before, after);
  }
}

Mutation SetXattr(std::string rel, std::string name, std::string value) {
  return [=](const std::string& root, std::string* skip) -> std::string {
    std::string p = root + "/" + rel;
    if (lsetxattr(p.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      *skip = "cannot set " + name + " here: " + strerror(errno);
      return "";
    }
    return root;
  };
}

Mutation Shell(std::string cmd) {  // cmd runs in the tree root
  return [=](const std::string& root, std::string*) {
    EXPECT_EQ(std::system(("cd '" + root + "' && " + cmd).c_str()), 0) << cmd;
    return root;
  };
}

Mutation CopyElsewhere() {
  return [](const std::string& root, std::string*) {
    std::string dst = root + "-copy";
    Status s = CopyTree(Context::Background(), root, dst, {});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return dst;
  };
}

// vfs_cap_data v2 granting cap_net_bind_service, permitted and effective.
const std::string kCapability(
    "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00",
    20);

INSTANTIATE_TEST_SUITE_P(
    Unchanged, ChecksumTableTest,
    ::testing::Values(
        Row{"SecuritySelinuxOnFile", "/", false, false,
            SetXattr("dir/file", "security.selinux", "system_u:object_r:tmp_t:s0")},
        Row{"SecuritySelinuxOnDir", "/", false, false,
            SetXattr("dir", "security.selinux", "system_u:object_r:tmp_t:s0")},
        Row{"TrustedXattr", "/", false, true, SetXattr("dir/file", "trusted.overlay.x", "y")},
        Row{"MtimeAndAtime", "/", false, false,
            Shell("touch -d '2001-02-03 04:05:06.789' dir/file dir top.txt && "
                  "touch -a -d '1999-01-01' dir/sub/deep && touch -h -d '2002-01-01' dir/link")},
        Row{"LinkCount", "/dir", false, false, Shell("ln dir/file hardlink-outside")},
        Row{"InodeNumber", "/", false, false,
            Shell("cp -a dir/file tmp && rm dir/file && mv tmp dir/file")},
        Row{"DirectorySize", "/", false, false,
            Shell("for i in $(seq 300); do touch dir/sub/f$i; done && rm dir/sub/f*")},
        Row{"CopyTreeToOtherDirectory", "/", false, false, CopyElsewhere()},
        Row{"CopyTreeKeepsDirXattr", "/dir", false, false, CopyElsewhere()}),
    [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Changed, ChecksumTableTest,
    ::testing::Values(
        Row{"UserXattrAddedToFile", "/", true, false, SetXattr("dir/file", "user.new", "1")},
        Row{"UserXattrChangedOnDir", "/", true, false, SetXattr("dir", "user.dx", "2")},
        Row{"UserXattrChangedOnDirItself", "/dir", true, false, SetXattr("dir", "user.dx", "2")},
        Row{"SecurityCapability", "/dir/exe", true, true,
            SetXattr("dir/exe", "security.capability", kCapability)},
        Row{"Mode0644To0755", "/", true, false, Shell("chmod 0755 dir/file")},
        Row{"Setuid", "/", true, false, Shell("chmod 04755 dir/exe")},
        Row{"StickyDir", "/", true, false, Shell("chmod 01755 dir")},
        Row{"Uid", "/", true, true, Shell("chown 1234 dir/file")},
        Row{"Gid", "/", true, true, Shell("chgrp 5678 dir/file")},
        Row{"SymlinkOwner", "/", true, true, Shell("chown -h 1234:5678 dir/link")},
        Row{"ContentSameSize", "/", true, false, Shell("printf CONTENT > dir/file")},
        Row{"ContentOfFileItself", "/dir/file", true, false, Shell("printf x >> dir/file")},
        Row{"SymlinkTarget", "/", true, false, Shell("ln -sfn exe dir/link")},
        Row{"FileRename", "/", true, false, Shell("mv dir/file dir/file2")},
        Row{"DirRename", "/", true, false, Shell("mv dir/sub dir/sub2")},
        Row{"NewEmptyFile", "/", true, false, Shell("touch dir/sub/empty")},
        Row{"FileBecomesFifo", "/", true, false, Shell("rm top.txt && mkfifo -m 0644 top.txt")},
        Row{"DeviceNumbers", "/", true, true, Shell("rm null && mknod -m 0666 null c 1 5")}),
    [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

TEST(ChecksumTest, EqualTreesAtDifferentPathsHaveEqualDigests) {
  TempDir t;
  mkdir((t.path() + "/a").c_str(), 0755);
  mkdir((t.path() + "/b").c_str(), 0755);
  WriteFile(t.path() + "/a/x", "same");
  WriteFile(t.path() + "/b/x", "same");
  WriteFile(t.path() + "/f1", "same");
  WriteFile(t.path() + "/f2", "same");
  EXPECT_EQ(Sum(t.path(), "/a"), Sum(t.path(), "b"));
  EXPECT_EQ(Sum(t.path(), "f1"), Sum(t.path(), "/f2"));
  EXPECT_NE(Sum(t.path(), "/a"), Sum(t.path(), "/f1"));
  EXPECT_EQ(Sum(t.path(), "/"), Sum(t.path() + "/", "/../.."));
}

TEST(ChecksumTest, MissingPathIsNotFoundAndNamesIt) {
  TempDir t;
  Result<Digest> d = Checksum(Context::Background(), t.path(), "/no/such", {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kNotFound);
  EXPECT_NE(d.status().message().find("/no/such"), std::string::npos) << d.status().message();
}

TEST(ChecksumTest, FollowLinksResolvesInsideRoot) {
  TempDir t;
  mkdir((t.path() + "/real").c_str(), 0755);
  WriteFile(t.path() + "/real/f", "x");
  symlink("/real", (t.path() + "/abs").c_str());
  ChecksumOptions follow;
  follow.follow_links = true;
  EXPECT_EQ(Sum(t.path(), "/abs", follow), Sum(t.path(), "/real"));
  EXPECT_NE(Sum(t.path(), "/abs"), Sum(t.path(), "/real"));
  EXPECT_EQ(Sum(t.path(), "/abs/f"), Sum(t.path(), "/real/f"));  // inner links always resolve
}

TEST(ChecksumTest, WildcardCombinesSortedMatches) {
  TempDir t;
  std::string r = t.path();
  mkdir((r + "/src").c_str(), 0755);
  WriteFile(r + "/src/a.txt", "a");
  WriteFile(r + "/src/b.txt", "b");
  WriteFile(r + "/src/c.bin", "c");
  ChecksumOptions wc;
  wc.wildcard = true;
  Digest both = Sum(r, "/src/*.txt", wc);
  EXPECT_EQ(Sum(r, "/s?c/[ab].txt", wc), both);
  EXPECT_NE(Sum(r, "/src/a*", wc), both);
  EXPECT_EQ(Sum(r, "/src/a.txt", wc), Sum(r, "/src/a.txt"));  // no glob: plain checksum
  EXPECT_EQ(Sum(r, "/src/*.none", wc), Digest::FromBytes(""));
  WriteFile(r + "/src/d.bin", "d");
  EXPECT_EQ(Sum(r, "/src/*.txt", wc), both);
  WriteFile(r + "/src/e.txt", "e");
  EXPECT_NE(Sum(r, "/src/*.txt", wc), both);
  unlink((r + "/src/e.txt").c_str());
  rename((r + "/src/b.txt").c_str(), (r + "/src/bb.txt").c_str());
  EXPECT_NE(Sum(r, "/src/*.txt", wc), both);  // same contents, different names
}

TEST(ChecksumTest, FilterExcludesPathsAsCopyTreeWould) {
  TempDir t;
  std::string r = t.path();
  mkdir((r + "/src").c_str(), 0755);
  mkdir((r + "/src/node_modules").c_str(), 0755);
  WriteFile(r + "/src/main.c", "int main;");
  WriteFile(r + "/src/node_modules/x.js", "x");
  ChecksumOptions opts;
  opts.filter = [](std::string_view rel, bool) { return rel.substr(0, 12) != "node_modules"; };
  Digest before = Sum(r, "/src", opts);
  WriteFile(r + "/src/node_modules/y.js", "y");
  EXPECT_EQ(Sum(r, "/src", opts), before);
  WriteFile(r + "/src/main.c", "int main(void);");
  EXPECT_NE(Sum(r, "/src", opts), before);
  // The checksum of a filtered copy equals the filtered checksum of the source.
  CopyOptions copy_opts;
  copy_opts.filter = opts.filter;
  ASSERT_OK(CopyTree(Context::Background(), r + "/src", r + "/copy", copy_opts));
  EXPECT_EQ(Sum(r, "/copy"), Sum(r, "/src", opts));
}

TEST(ChecksumTest, CancelledContextReturnsCause) {
  TempDir t;
  WriteFile(t.path() + "/f", "x");
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("job cancelled"));
  Result<Digest> d = Checksum(ctx, t.path(), "/", {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "job cancelled");
}

TEST(ChecksumCacheTest, RepeatedLookupsAreServedFromTheCacheUntilForgotten) {
  TempDir t;
  WriteFile(t.path() + "/f", "v1");
  ChecksumCache cache;
  Context ctx = Context::Background();
  Result<Digest> first = cache.Checksum(ctx, "ref1", t.path(), "/f", {});
  ASSERT_TRUE(first.ok());
  WriteFile(t.path() + "/f", "v2");  // an immutable ref never changes; this proves the hit
  EXPECT_EQ(*cache.Checksum(ctx, "ref1", t.path(), "f/", {}), *first);
  EXPECT_EQ(cache.size(), 1u);
  ChecksumOptions follow;
  follow.follow_links = true;
  EXPECT_NE(*cache.Checksum(ctx, "ref1", t.path(), "/f", follow), *first);  // other options
  ChecksumOptions unnamed_filter;
  unnamed_filter.filter = [](std::string_view, bool) { return true; };
  EXPECT_NE(*cache.Checksum(ctx, "ref1", t.path(), "/f", unnamed_filter), *first);
  EXPECT_EQ(cache.size(), 2u);  // a filter without a key is not cached
  cache.Checksum(ctx, "ref2", t.path(), "/f", {}).status().IgnoreError();
  cache.Forget("ref1");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(*cache.Checksum(ctx, "ref1", t.path(), "/f", {}), *first);
}

TEST(ChecksumCacheTest, ConcurrentLookupsAgree) {
  TempDir t;
  for (int i = 0; i < 20; i++) WriteFile(t.path() + "/f" + std::to_string(i), std::to_string(i));
  ChecksumCache cache;
  Digest want = Sum(t.path(), "/");
  std::vector<std::thread> threads;
  std::vector<Digest> got(8);
  for (size_t i = 0; i < got.size(); i++) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 5; k++) {
        Result<Digest> d = cache.Checksum(Context::Background(), "ref", t.path(), "/", {});
        if (d.ok()) got[i] = *d;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const Digest& d : got) EXPECT_EQ(d, want);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ContentHash, KnownContentDigestsStandInForReading) {
  char tmpl[] = "/tmp/kiln-known-XXXXXX";
  std::string root = mkdtemp(tmpl);
  std::ofstream(root + "/a") << "alpha";
  std::ofstream(root + "/b") << "beta";
  auto plain = Checksum(Context::Background(), root, "/", {});
  ASSERT_TRUE(plain.ok());
  std::vector<std::string> asked;
  ChecksumOptions right;
  right.known_content = [&asked](const std::string& rel) -> std::optional<Digest> {
    asked.push_back(rel);
    if (rel == "a") return Digest::FromBytes("alpha");
    return std::nullopt;  // b is read
  };
  auto same = Checksum(Context::Background(), root, "/", right);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *plain);
  EXPECT_EQ(asked, (std::vector<std::string>{"a", "b"}));
  // What the caller says is what is hashed (it must only say what it wrote).
  ChecksumOptions wrong;
  wrong.known_content = [](const std::string& rel) -> std::optional<Digest> {
    return rel == "a" ? std::optional<Digest>(Digest::FromBytes("not alpha")) : std::nullopt;
  };
  auto other = Checksum(Context::Background(), root, "/", wrong);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *plain);
  RemoveAll(root).IgnoreError();
}

}  // namespace
}  // namespace kiln::cache
