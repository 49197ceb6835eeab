// The double-walking differ: golden entry lists, the tar applied with the snapshot module's
// ApplyLayer onto the lower tree gives the upper tree, system tar reads it, whiteout format,
// ownership, xattrs, hardlinks, timestamps, determinism.

#include "layer/layer_diff.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "layer/testing/layer_testing.h"
#include "snapshot/apply.h"
#include "snapshot/testing/layer_builder.h"
#include "snapshot/testing/temp_dir.h"
#include "util/fs_copy.h"

namespace kiln::layer {
namespace {

using snapshot::testing::MakeDirs;
using snapshot::testing::TempDir;
using snapshot::testing::WriteFile;
using testing::DescribeTree;
using testing::EntryList;
using testing::ReadEntries;
using testing::RunCommand;
using Strings = std::vector<std::string>;

void SetMtime(const std::string& path, int64_t sec, int64_t nsec = 0) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  KILN_CHECK(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// A valid VFS_CAP_REVISION_2 security.capability value: cap_net_bind_service, effective.
std::string CapNetBindService() {
  return std::string(
      "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
}

class TreeDiffTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeDirs(lower_); }

  // Copies lower to upper (everything kept), for the test to change upper.
  void Fork() { ASSERT_TRUE(CopyTree(ctx_, lower_, upper_, {}).ok()); }

  std::string Diff(const DiffOptions& opts = {}, const std::string& lower = "x") {
    std::string tar;
    auto r = WriteTreeDiff(ctx_, lower == "x" ? lower_ : lower, upper_, opts,
                           [&tar](std::string_view d) {
                             tar.append(d);
                             return Status::Ok();
                           });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) stats_ = *r;
    return tar;
  }

  // Applies tar onto a copy of lower; the result must describe as upper does.
  void ExpectApplyGivesUpper(const std::string& tar,
                             const Strings& xattrs = {"user.", "security.capability"}) {
    std::string applied = tmp_.Sub("applied");
    ASSERT_TRUE(RemoveAll(applied).ok());
    ASSERT_TRUE(CopyTree(ctx_, lower_, applied, {}).ok());
    auto r = snapshot::ApplyLayer(ctx_, snapshot::testing::StringSource(tar), applied, {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(DescribeTree(applied, xattrs), DescribeTree(upper_, xattrs));
  }

  // `tar -tv` of the layer with the size and date columns left out (or kept, full).
  Strings TarListing(const std::string& tar, bool full = false) {
    std::string f = tmp_.Sub("layer.tar");
    testing::WriteBytes(f, tar);
    auto r = RunCommand("TZ=UTC tar -tvf '" + f + "'");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    Strings out;
    size_t pos = 0;
    while (pos < r.out.size()) {
      size_t nl = r.out.find('\n', pos);
      std::string line = r.out.substr(pos, nl - pos);
      pos = nl == std::string::npos ? r.out.size() : nl + 1;
      if (!full) {
        // perms owner size date time name...: drop size, date and time.
        std::vector<std::string> f2;
        size_t p = 0;
        for (int i = 0; i < 5; i++) {
          size_t e = line.find_first_not_of(' ', p);
          size_t sp = line.find(' ', e);
          f2.push_back(line.substr(e, sp - e));
          p = sp;
        }
        line = f2[0] + " " + f2[1] + " " + line.substr(line.find_first_not_of(' ', p));
      }
      out.push_back(line);
    }
    return out;
  }

  Context ctx_ = Context::Background();
  TempDir tmp_;
  std::string lower_ = tmp_.Sub("lower");
  std::string upper_ = tmp_.Sub("upper");
  DiffStats stats_;
};

TEST_F(TreeDiffTest, AddModifyDeleteGiveTheGoldenEntriesAndApplyBackToTheUpperTree) {
  WriteFile(lower_ + "/a", "a");
  WriteFile(lower_ + "/b", "bb");
  MakeDirs(lower_ + "/d");
  WriteFile(lower_ + "/d/x", "x");
  WriteFile(lower_ + "/d/y", "y");
  MakeDirs(lower_ + "/e/f");
  WriteFile(lower_ + "/e/f/g", "g");
  MakeDirs(lower_ + "/keep");
  WriteFile(lower_ + "/keep/k", "k");
  WriteFile(lower_ + "/keep/same", "same");
  ASSERT_EQ(symlink("a", (lower_ + "/sym").c_str()), 0);
  Fork();
  WriteFile(upper_ + "/n", "new");
  WriteFile(upper_ + "/a", "AAAA");
  ASSERT_EQ(chmod((upper_ + "/b").c_str(), 0600), 0);
  ASSERT_EQ(unlink((upper_ + "/d/x").c_str()), 0);
  ASSERT_TRUE(RemoveAll(upper_ + "/e").ok());
  MakeDirs(upper_ + "/newdir/sub");
  WriteFile(upper_ + "/newdir/sub/file", "file");
  ASSERT_EQ(unlink((upper_ + "/sym").c_str()), 0);
  ASSERT_EQ(symlink("b", (upper_ + "/sym").c_str()), 0);
  ASSERT_EQ(lchown((upper_ + "/keep/k").c_str(), 1000, 1000), 0);

  std::string tar = Diff();
  EXPECT_EQ(EntryList(tar),
            (Strings{"a f", "b f", "d/ d", "d/.wh.x f", ".wh.e f", "keep/ d", "keep/k f", "n f",
                     "newdir/ d", "newdir/sub/ d", "newdir/sub/file f", "sym l -> b"}));
  EXPECT_EQ(stats_.entries, 12);
  EXPECT_EQ(stats_.whiteouts, 2);
  EXPECT_FALSE(stats_.overlay);
  ExpectApplyGivesUpper(tar);
  Strings listing = TarListing(tar);
  ASSERT_EQ(listing.size(), 12u);
  EXPECT_EQ(listing[1], "-rw------- 0/0 b");
  EXPECT_EQ(listing[6], "-rw-r--r-- 1000/1000 keep/k");
  EXPECT_EQ(listing[11], "lrwxrwxrwx 0/0 sym -> b");
}

TEST_F(TreeDiffTest, WhiteoutsAreEmptyFilesOwnedByRootWithModeAndMtimeZero) {
  WriteFile(lower_ + "/gone", "x");
  Fork();
  ASSERT_EQ(unlink((upper_ + "/gone").c_str()), 0);
  std::string tar = Diff();
  EXPECT_EQ(TarListing(tar, true),
            Strings{"---------- 0/0               0 1970-01-01 00:00 .wh.gone"});
  auto entries = ReadEntries(tar);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].type, S_IFREG);
  EXPECT_EQ(entries[0].perm, 0u);
  EXPECT_EQ(entries[0].size, 0);
  EXPECT_EQ(entries[0].mtime_sec, 0);
  ExpectApplyGivesUpper(tar);
}

TEST_F(TreeDiffTest, ADeletedDirectoryIsOneWhiteoutAndTypeChangesReplaceEntries) {
  MakeDirs(lower_ + "/dir/sub");
  WriteFile(lower_ + "/dir/sub/f", "f");
  WriteFile(lower_ + "/dir/g", "g");
  WriteFile(lower_ + "/file_to_dir", "x");
  MakeDirs(lower_ + "/dir_to_file/inner");
  Fork();
  ASSERT_TRUE(RemoveAll(upper_ + "/dir").ok());
  ASSERT_EQ(unlink((upper_ + "/file_to_dir").c_str()), 0);
  MakeDirs(upper_ + "/file_to_dir");
  WriteFile(upper_ + "/file_to_dir/child", "c");
  ASSERT_TRUE(RemoveAll(upper_ + "/dir_to_file").ok());
  WriteFile(upper_ + "/dir_to_file", "now a file");
  std::string tar = Diff();
  EXPECT_EQ(EntryList(tar),
            (Strings{".wh.dir f", "dir_to_file f", "file_to_dir/ d", "file_to_dir/child f"}));
  ExpectApplyGivesUpper(tar);
}

TEST_F(TreeDiffTest, AnUnchangedDirectoryAboveAChangeIsWrittenWithItsMetadata) {
  MakeDirs(lower_ + "/p/q");
  WriteFile(lower_ + "/p/q/old", "old");
  ASSERT_EQ(chmod((lower_ + "/p").c_str(), 0750), 0);
  ASSERT_EQ(lchown((lower_ + "/p").c_str(), 7, 8), 0);
  SetMtime(lower_ + "/p", 1500000000);
  Fork();
  WriteFile(upper_ + "/p/q/new", "new");
  SetMtime(upper_ + "/p/q", 1600000000);
  std::string tar = Diff();
  EXPECT_EQ(EntryList(tar), (Strings{"p/ d", "p/q/ d", "p/q/new f"}));
  auto entries = ReadEntries(tar);
  EXPECT_EQ(entries[0].perm, 0750u);
  EXPECT_EQ(entries[0].uid, 7u);
  EXPECT_EQ(entries[0].gid, 8u);
  EXPECT_EQ(entries[0].mtime_sec, 1500000000);
  EXPECT_EQ(entries[1].mtime_sec, 1600000000);
  ExpectApplyGivesUpper(tar);
}

TEST_F(TreeDiffTest, HardlinksPointAtTheFirstWrittenPathIncludingUnchangedOnes) {
  WriteFile(lower_ + "/old", "shared");
  MakeDirs(lower_ + "/z");
  Fork();
  // A new file with two names, and a new name for an unchanged file that sorts after it.
  WriteFile(upper_ + "/n1", "n");
  ASSERT_EQ(link((upper_ + "/n1").c_str(), (upper_ + "/z/n2").c_str()), 0);
  ASSERT_EQ(link((upper_ + "/old").c_str(), (upper_ + "/z/old2").c_str()), 0);
  std::string tar = Diff();
  EXPECT_EQ(EntryList(tar),
            (Strings{"n1 f", "z/ d", "z/n2 h -> n1", "z/old2 f", "old h -> z/old2"}));
  ExpectApplyGivesUpper(tar);
}

TEST_F(TreeDiffTest, SymlinksDevicesAndFifosAreWrittenAndSocketsSkipped) {
  Fork();
  ASSERT_EQ(symlink("/etc/passwd", (upper_ + "/abs").c_str()), 0);
  ASSERT_EQ(symlink(std::string(150, 'l').c_str(), (upper_ + "/longtarget").c_str()), 0);
  ASSERT_EQ(mkfifo((upper_ + "/fifo").c_str(), 0640), 0);
  bool devices = mknod((upper_ + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0 &&
                 mknod((upper_ + "/loop").c_str(), S_IFBLK | 0660, makedev(7, 0)) == 0;
  std::string tar = Diff();
  Strings want = {"abs l -> /etc/passwd", "fifo p", "longtarget l -> " + std::string(150, 'l')};
  if (devices)
    want = {"abs l -> /etc/passwd", "fifo p", "longtarget l -> " + std::string(150, 'l'), "loop b",
            "null c"};
  EXPECT_EQ(EntryList(tar), want);
  ExpectApplyGivesUpper(tar);
  if (!devices) GTEST_SKIP() << "device nodes need CAP_MKNOD; the rest was checked";
}

TEST_F(TreeDiffTest, OnlySecurityCapabilityIsWrittenByDefaultOtherXattrsOnRequest) {
  WriteFile(lower_ + "/tool", "bin");
  WriteFile(lower_ + "/data", "data");
  Fork();
  if (lsetxattr((upper_ + "/tool").c_str(), "security.capability", CapNetBindService().data(), 20,
                0) != 0) {
    GTEST_SKIP() << "cannot set security.capability here: " << strerror(errno);
  }
  ASSERT_EQ(lsetxattr((upper_ + "/data").c_str(), "user.note", "v1", 2, 0), 0);
  // Default (containerd): the capability change is a change and is written; user.* is neither.
  std::string tar = Diff();
  EXPECT_EQ(EntryList(tar), Strings{"tool f"});
  auto entries = ReadEntries(tar);
  ASSERT_EQ(entries.size(), 1u);
  ASSERT_EQ(entries[0].xattrs.size(), 1u);
  EXPECT_EQ(entries[0].xattrs[0].name, "security.capability");
  EXPECT_EQ(entries[0].xattrs[0].value, CapNetBindService());
  ExpectApplyGivesUpper(tar, {"security.capability"});
  // With a filter that keeps user.*: the new xattr is a change too.
  DiffOptions all;
  all.xattr_filter = [](std::string_view n) { return n != "security.selinux"; };
  tar = Diff(all);
  EXPECT_EQ(EntryList(tar), (Strings{"data f", "tool f"}));
  ExpectApplyGivesUpper(tar);
}

TEST_F(TreeDiffTest, OwnershipIsNumericWithEmptyUserAndGroupNames) {
  Fork();
  WriteFile(upper_ + "/owned", "o");
  ASSERT_EQ(lchown((upper_ + "/owned").c_str(), 1234, 5678), 0);
  std::string tar = Diff();
  EXPECT_EQ(TarListing(tar), Strings{"-rw-r--r-- 1234/5678 owned"});
  ASSERT_GE(tar.size(), 512u);
  EXPECT_EQ(tar.substr(265, 64), std::string(64, '\0')) << "uname and gname must be empty";
  ExpectApplyGivesUpper(tar);
}

TEST_F(TreeDiffTest, ContentDecidesWhenBothMtimesHaveNoNanoseconds) {
  WriteFile(lower_ + "/changed", "1111");
  WriteFile(lower_ + "/same", "2222");
  SetMtime(lower_ + "/changed", 1600000000);
  SetMtime(lower_ + "/same", 1600000000);
  Fork();
  WriteFile(upper_ + "/changed", "9999");
  WriteFile(upper_ + "/same", "2222");
  SetMtime(upper_ + "/changed", 1600000000);
  SetMtime(upper_ + "/same", 1600000000);
  std::string tar = Diff();
  EXPECT_EQ(EntryList(tar), Strings{"changed f"});
  ExpectApplyGivesUpper(tar);
}

TEST_F(TreeDiffTest, RewriteTimestampClampsLaterMtimesAndAllAreWholeSeconds) {
  Fork();
  WriteFile(upper_ + "/future", "f");
  WriteFile(upper_ + "/past", "p");
  WriteFile(upper_ + "/exact", "e");
  SetMtime(upper_ + "/future", 1900000000, 5);
  SetMtime(upper_ + "/past", 1000000000, 123456789);
  SetMtime(upper_ + "/exact", 1700000000, 1);
  DiffOptions opts;
  opts.clamp_mtime = 1700000000;
  auto entries = ReadEntries(Diff(opts));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "exact");
  EXPECT_EQ(entries[0].mtime_sec, 1700000000);
  EXPECT_EQ(entries[1].mtime_sec, 1700000000);  // future
  EXPECT_EQ(entries[2].mtime_sec, 1000000000);  // past
  for (const auto& e : entries) EXPECT_EQ(e.mtime_nsec, 0) << e.name;
  // Without the option the future stays.
  EXPECT_EQ(ReadEntries(Diff())[1].mtime_sec, 1900000000);
}

TEST_F(TreeDiffTest, TheSameTreesGiveTheSameBytes) {
  for (int i = 0; i < 30; i++) WriteFile(lower_ + "/f" + std::to_string(i), std::to_string(i));
  Fork();
  for (int i = 0; i < 30; i += 3) WriteFile(upper_ + "/f" + std::to_string(i), "changed");
  for (int i = 1; i < 30; i += 7) ASSERT_EQ(unlink((upper_ + "/f" + std::to_string(i)).c_str()), 0);
  MakeDirs(upper_ + "/new/deep");
  WriteFile(upper_ + "/new/deep/x", std::string(100000, 'x'));
  std::string first = Diff();
  EXPECT_EQ(Diff(), first);
  ExpectApplyGivesUpper(first);
}

TEST_F(TreeDiffTest, NoChangesGiveAnEmptyArchiveAndNoLowerMeansEverythingIsAdded) {
  WriteFile(lower_ + "/a", "a");
  MakeDirs(lower_ + "/d");
  Fork();
  EXPECT_EQ(Diff(), std::string(1024, '\0'));
  EXPECT_EQ(EntryList(Diff({}, "")), (Strings{"a f", "d/ d"}));
}

}  // namespace
}  // namespace kiln::layer
