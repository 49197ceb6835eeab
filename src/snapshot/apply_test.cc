// Layer apply: entry types and metadata, compression, hardlinks, whiteouts and opaque
// directories in both modes, type replacement. (Escapes and corrupt streams:
// apply_safety_test.cc.)

#include "snapshot/apply.h"

#include <gtest/gtest.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "snapshot/testing/layer_builder.h"
#include "snapshot/testing/temp_dir.h"
#include "util/tar_writer.h"

namespace kiln::snapshot {
namespace {

using testing::Compression;
using testing::Exists;
using testing::GetXattr;
using testing::LayerBuilder;
using testing::Lstat;
using testing::Names;
using testing::ReadFile;
using testing::StringSource;
using testing::TempDir;
using testing::WriteFile;
using Strings = std::vector<std::string>;

const std::string kCap(
    "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    20);  // VFS_CAP_REVISION_2, cap_net_bind_service permitted

Result<ApplyStats> Apply(const std::string& layer, const std::string& dest,
                         ApplyOptions opts = {}) {
  return ApplyLayer(Context::Background(), StringSource(layer, 1000), dest, opts);
}

#define REQUIRE_ROOT() \
  if (geteuid() != 0) GTEST_SKIP() << "needs root (chown, mknod, trusted.* xattrs)"

class ApplyTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string dest_ = tmp_.path();
};

LayerBuilder EveryType() {
  LayerBuilder b;
  b.Dir("etc", 0750).Owner(1000, 1001).Mtime(1500000000, 123456789);
  b.File("etc/conf", "a=1\n", 0640)
      .Owner(1000, 1001)
      .Mtime(1500000001, 987654321)
      .Atime(1400000000, 5);
  b.File("bin/ping", "ELF", 04755).Xattr("security.capability", kCap).Xattr("user.note", "hi");
  b.File("bin/sg", "", 02711);
  b.Dir("tmp", 01777);
  b.Symlink("bin/sh", "busybox").Owner(7, 8).Mtime(1500000002, 42);
  b.File("bin/busybox", std::string(100000, 'b'), 0755);
  b.Hardlink("bin/ls", "bin/busybox");
  b.Char("dev/null", 1, 3);
  b.Block("dev/loop0", 7, 0);
  b.Fifo("run/fifo");
  return b;
}

void ExpectEveryType(const std::string& d) {
  struct stat st = Lstat(d + "/etc");
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  // Set after etc/conf was written into it.
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  st = Lstat(d + "/etc/conf");
  EXPECT_EQ(ReadFile(d + "/etc/conf"), "a=1\n");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000001);
  EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
  EXPECT_EQ(st.st_atim.tv_sec, 1400000000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  st = Lstat(d + "/bin/ping");
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(GetXattr(d + "/bin/ping", "security.capability"), kCap);
  EXPECT_EQ(GetXattr(d + "/bin/ping", "user.note"), "hi");
  EXPECT_EQ(Lstat(d + "/bin/sg").st_mode & 07777, 02711u);
  EXPECT_EQ(Lstat(d + "/tmp").st_mode & 07777, 01777u);
  st = Lstat(d + "/bin/sh");
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000002);
  EXPECT_EQ(st.st_mtim.tv_nsec, 42);
  char target[64] = {};
  EXPECT_EQ(readlink((d + "/bin/sh").c_str(), target, sizeof(target) - 1), 7);
  EXPECT_STREQ(target, "busybox");
  EXPECT_EQ(Lstat(d + "/bin/ls").st_ino, Lstat(d + "/bin/busybox").st_ino);
  EXPECT_EQ(Lstat(d + "/bin/ls").st_nlink, 2u);
  EXPECT_EQ(ReadFile(d + "/bin/ls").size(), 100000u);
  st = Lstat(d + "/dev/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  st = Lstat(d + "/dev/loop0");
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(7, 0));
  EXPECT_TRUE(S_ISFIFO(Lstat(d + "/run/fifo").st_mode));
  // Implied parents (bin, dev, run) are plain 0755 directories.
  EXPECT_EQ(Lstat(d + "/run").st_mode & 07777, 0755u);
}

TEST_F(ApplyTest, EveryEntryTypeWithItsMetadata) {
  REQUIRE_ROOT();
  auto stats = Apply(EveryType().Build(), dest_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->entries, 11);
  EXPECT_EQ(stats->bytes, 4 + 3 + 100000);
  ExpectEveryType(dest_);
}

TEST_F(ApplyTest, GzipAndZstdLayersAreDetected) {
  REQUIRE_ROOT();
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    TempDir d;
    std::string blob = EveryType().Build(c);
    ASSERT_NE(blob.substr(0, 2), EveryType().Build().substr(0, 2));
    auto stats = Apply(blob, d.path());
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    ExpectEveryType(d.path());
  }
}

TEST_F(ApplyTest, BlobFileAndEmptyBlob) {
  TempDir blobs;
  std::string layer = LayerBuilder().File("a", "1").Build(Compression::kZstd);
  WriteFile(blobs.Sub("layer"), layer);
  WriteFile(blobs.Sub("empty"), "");
  ASSERT_TRUE(ApplyLayerFile(Context::Background(), blobs.Sub("layer"), dest_, {}).ok());
  EXPECT_EQ(ReadFile(dest_ + "/a"), "1");
  auto empty = ApplyLayerFile(Context::Background(), blobs.Sub("empty"), dest_, {});
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->entries, 0);
}

TEST_F(ApplyTest, GoStyleSchilyXattrRecords) {
  REQUIRE_ROOT();
  // kiln's own tar writer emits only SCHILY.xattr.* records, as Go's archive/tar does.
  std::string blob;
  TarWriter w([&](std::string_view b) {
    blob.append(b);
    return Status::Ok();
  });
  TarHeader h;
  h.name = "bin/cap";
  h.mode = 0755;
  h.size = 2;
  h.xattrs = {{"security.capability", kCap}, {"trusted.overlay.opaque", "y"}};
  ASSERT_TRUE(w.WriteHeader(h).ok());
  ASSERT_TRUE(w.WriteData("hi").ok());
  ASSERT_TRUE(w.Close().ok());
  ASSERT_TRUE(Apply(blob, dest_).ok());
  EXPECT_EQ(GetXattr(dest_ + "/bin/cap", "security.capability"), kCap);
  EXPECT_EQ(GetXattr(dest_ + "/bin/cap", "trusted.overlay.opaque"), std::nullopt);  // dropped
}

TEST_F(ApplyTest, HardlinkToALowerLayerFile) {
  WriteFile(dest_ + "/lower", "from below");
  ASSERT_TRUE(Apply(LayerBuilder().Hardlink("again", "lower").Build(), dest_).ok());
  EXPECT_EQ(Lstat(dest_ + "/again").st_ino, Lstat(dest_ + "/lower").st_ino);
  auto missing = Apply(LayerBuilder().Hardlink("x", "nope").Build(), dest_);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("layer entry \"x\""), std::string::npos);
}

TEST_F(ApplyTest, MergedWhiteoutsDeleteFromTheLowerTree) {
  testing::MakeDirs(dest_ + "/a");
  testing::MakeDirs(dest_ + "/b/deep");
  WriteFile(dest_ + "/a/x", "x");
  WriteFile(dest_ + "/a/y", "y");
  WriteFile(dest_ + "/b/deep/z", "z");
  auto layer = LayerBuilder().Whiteout("a/x").Whiteout("b").Whiteout("never/there").Build();
  auto stats = Apply(layer, dest_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(Names(dest_), (Strings{"a"}));
  EXPECT_EQ(Names(dest_ + "/a"), (Strings{"y"}));
  EXPECT_EQ(stats->entries, 3);
}

TEST_F(ApplyTest, WhiteoutNeverHidesAnEntryOfTheSameLayer) {
  WriteFile(dest_ + "/f", "lower");
  auto layer = LayerBuilder().File("f", "mine").Whiteout("f").Build();
  ASSERT_TRUE(Apply(layer, dest_).ok());
  EXPECT_EQ(ReadFile(dest_ + "/f"), "mine");
}

TEST_F(ApplyTest, MergedOpaqueKeepsOnlyThisLayersEntriesWhateverTheOrder) {
  for (bool marker_first : {true, false}) {
    TempDir d;
    testing::MakeDirs(d.Sub("d/sub"));
    WriteFile(d.Sub("d/old"), "old");
    WriteFile(d.Sub("d/sub/old2"), "old");
    WriteFile(d.Sub("keep"), "outside d");
    LayerBuilder b;
    if (marker_first) b.Opaque("d");
    b.File("d/new", "new").File("d/sub/new2", "new");
    if (!marker_first) b.Opaque("d");
    auto r = Apply(b.Build(), d.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Names(d.Sub("d")), (Strings{"new", "sub"})) << marker_first;
    EXPECT_EQ(Names(d.Sub("d/sub")), (Strings{"new2"})) << marker_first;
    EXPECT_EQ(ReadFile(d.Sub("keep")), "outside d");
  }
}

TEST_F(ApplyTest, ReplacedTypesAreRemovedFirstAndDirectoriesMerge) {
  testing::MakeDirs(dest_ + "/was_dir/child");
  WriteFile(dest_ + "/was_file", "f");
  testing::MakeDirs(dest_ + "/merge");
  WriteFile(dest_ + "/merge/keep", "k");
  TempDir outside;
  ASSERT_EQ(symlink(outside.Sub("victim").c_str(), (dest_ + "/was_link").c_str()), 0);
  auto layer = LayerBuilder()
                   .File("was_dir", "now a file")
                   .Dir("was_file", 0700)
                   .File("was_link", "not through the link")
                   .Dir("merge", 0711)
                   .File("merge/new", "n")
                   .Build();
  ASSERT_TRUE(Apply(layer, dest_).ok());
  EXPECT_EQ(ReadFile(dest_ + "/was_dir"), "now a file");
  EXPECT_TRUE(S_ISDIR(Lstat(dest_ + "/was_file").st_mode));
  EXPECT_TRUE(S_ISREG(Lstat(dest_ + "/was_link").st_mode));
  EXPECT_FALSE(Exists(outside.Sub("victim")));
  EXPECT_EQ(Names(dest_ + "/merge"), (Strings{"keep", "new"}));
  EXPECT_EQ(Lstat(dest_ + "/merge").st_mode & 07777, 0711u);
}

TEST_F(ApplyTest, OverlayModeWritesWhiteoutDevicesAndOpaqueXattrs) {
  REQUIRE_ROOT();
  TempDir lower;
  testing::MakeDirs(lower.Sub("a"));
  testing::MakeDirs(lower.Sub("d"));
  testing::MakeDirs(lower.Sub("e"));
  WriteFile(lower.Sub("a/x"), "x");
  WriteFile(lower.Sub("d/old"), "old");
  WriteFile(lower.Sub("big"), "shared content");
  ASSERT_EQ(chmod(lower.Sub("e").c_str(), 0711), 0);
  ASSERT_EQ(chown(lower.Sub("e").c_str(), 5, 6), 0);
  ApplyOptions opts;
  opts.mode = ApplyMode::kOverlay;
  opts.lower_dirs = {lower.path()};
  auto layer = LayerBuilder()
                   .Whiteout("a/x")
                   .File("d/new", "new")
                   .Opaque("d")
                   .File("e/f", "implied parent")
                   .Whiteout("z")
                   .Dir("z")
                   .File("z/fresh", "")
                   .Hardlink("big2", "big")
                   .Opaque("o")
                   .File("o/after-marker", "")
                   .Build();
  auto r = Apply(layer, dest_, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st = Lstat(dest_ + "/a/x");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(GetXattr(dest_ + "/d", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(Names(dest_ + "/d"), (Strings{"new"}));
  EXPECT_EQ(GetXattr(dest_ + "/z", "trusted.overlay.opaque"), "y");  // deleted, then made anew
  EXPECT_EQ(GetXattr(dest_ + "/o", "trusted.overlay.opaque"), "y");  // marker before entries
  EXPECT_EQ(Names(dest_ + "/o"), (Strings{"after-marker"}));
  EXPECT_EQ(GetXattr(dest_ + "/a", "trusted.overlay.opaque"), std::nullopt);
  st = Lstat(dest_ + "/e");
  EXPECT_EQ(st.st_mode & 07777, 0711u);  // from the lower layer's e
  EXPECT_EQ(st.st_uid, 5u);
  // The hardlink's lower target was copied up and linked.
  EXPECT_EQ(Lstat(dest_ + "/big2").st_ino, Lstat(dest_ + "/big").st_ino);
  EXPECT_EQ(ReadFile(dest_ + "/big2"), "shared content");
  // Nothing below was touched.
  EXPECT_EQ(ReadFile(lower.Sub("a/x")), "x");
  EXPECT_EQ(ReadFile(lower.Sub("d/old")), "old");
}

TEST_F(ApplyTest, ApplyToANativeSnapshotDeletesOnlyInTheChild) {
  TempDir root;
  auto sn = NewNativeSnapshotter(root.path());
  ASSERT_TRUE(sn.ok());
  Context ctx = Context::Background();
  ASSERT_TRUE((*sn)->Prepare(ctx, "base", "").ok());
  ASSERT_TRUE(
      ApplyLayerToSnapshot(ctx, **sn, "base",
                           StringSource(LayerBuilder().File("a", "1").File("b", "2").Build()))
          .ok());
  ASSERT_TRUE((*sn)->Commit("base").ok());
  ASSERT_TRUE((*sn)->Prepare(ctx, "child", "base").ok());
  ASSERT_TRUE(
      ApplyLayerToSnapshot(ctx, **sn, "child", StringSource(LayerBuilder().Whiteout("a").Build()))
          .ok());
  auto child = (*sn)->MountSnapshot("child", true);
  auto base = (*sn)->MountSnapshot("base", true);
  EXPECT_EQ(Names((*child)->path()), (Strings{"b"}));
  EXPECT_EQ(Names((*base)->path()), (Strings{"a", "b"}));
}

}  // namespace
}  // namespace kiln::snapshot
