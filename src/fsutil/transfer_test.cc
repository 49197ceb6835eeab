// End-to-end tests: Send and Receive on two threads joined by an in-memory pipe.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "fsutil/receiver.h"
#include "fsutil/sender.h"
#include "fsutil/testing/temp_tree.h"

namespace kiln::fsutil {
namespace {

using testing::DescribeTree;
using testing::Exists;
using testing::Inode;
using testing::MakeDir;
using testing::MakeFifo;
using testing::MakeHardlink;
using testing::MakeSymlink;
using testing::ReadFile;
using testing::SetMtime;
using testing::TempDir;
using testing::WriteFile;

struct Transfer {
  Status send;
  Status receive;
  SendStats send_stats;
  ReceiveStats receive_stats;
  int64_t progress = 0;
};

Transfer Sync(const std::string& src, const std::string& dest, const WalkOptions& walk = {},
              ReceiveOptions recv = {}) {
  Transfer t;
  auto [a, b] = NewInMemoryPipe();
  recv.progress = [&t](int64_t bytes) { t.progress = bytes; };
  std::thread sender(
      [&, &a = a] { t.send = Send(Context::Background(), *a, src, walk, &t.send_stats); });
  t.receive = Receive(Context::Background(), *b, dest, recv, &t.receive_stats);
  sender.join();
  return t;
}

// Source trees get explicit mtimes so that directory times are part of the comparison.
void BuildTree(const TempDir& t, bool* has_xattr) {
  MakeDir(t.Sub("src"));
  const std::string s = t.Sub("src");
  WriteFile(s + "/empty", "");
  WriteFile(s + "/small", "hello\n");
  WriteFile(s + "/chunk", testing::Content(size_t{32} * 1024, 1));
  WriteFile(s + "/chunk_plus_one", testing::Content(size_t{32} * 1024 + 1, 2));
  WriteFile(s + "/big", testing::Content(300 * 1024 + 7, 3), 0600);
  WriteFile(s + "/setuid", "#!/bin/sh\n", 04755);
  MakeDir(s + "/dir");
  MakeDir(s + "/dir/nested", 0700);
  WriteFile(s + "/dir/nested/leaf", testing::Content(1000, 4));
  MakeDir(s + "/readonly", 0555 | 0200);
  WriteFile(s + "/readonly/inside", "ro");
  chmod((s + "/readonly").c_str(), 0555);
  MakeSymlink("dir/nested/leaf", s + "/link");
  MakeSymlink("/nonexistent/abs", s + "/dangling");
  MakeHardlink(s + "/small", s + "/small_hardlink");
  MakeFifo(s + "/fifo", 0640);
  *has_xattr = testing::TrySetXattr(s + "/small", "user.kiln.test", "value");
  for (const char* p : {"empty", "small", "big", "link", "fifo", "dir/nested/leaf", "dir/nested",
                        "dir", "readonly"}) {
    SetMtime(s + "/" + p, 1600000000 + static_cast<int>(std::string(p).size()), 987654321);
  }
}

TEST(TransferTest, RoundTripsATree) {
  TempDir t;
  bool has_xattr = false;
  BuildTree(t, &has_xattr);
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.send.ok()) << r.send.ToString();
  ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
  EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(t.Sub("src")));
  EXPECT_EQ(ReadFile(t.Sub("dest/big")), testing::Content(300 * 1024 + 7, 3));
  if (has_xattr) {
    bool found = false;
    for (const std::string& line : DescribeTree(t.Sub("dest"))) {
      found = found || (line.starts_with("small ") &&
                        line.find("xattr:user.kiln.test=value") != std::string::npos);
    }
    EXPECT_TRUE(found);
  }
  struct stat st;
  ASSERT_EQ(lstat(t.Sub("dest/small").c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, Inode(t.Sub("dest/small_hardlink")));
  ASSERT_EQ(lstat(t.Sub("dest/setuid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);

  // 8 regular files: empty, small, chunk, chunk_plus_one, big, setuid, leaf, inside; the
  // hardlink is not requested.
  const int64_t content = 6 + 32 * 1024 + 32 * 1024 + 1 + 300 * 1024 + 7 + 10 + 1000 + 2;
  EXPECT_EQ(r.receive_stats.files_requested, 8);
  EXPECT_EQ(r.receive_stats.bytes_received, content);
  EXPECT_EQ(r.send_stats.files_sent, 8);
  EXPECT_EQ(r.send_stats.bytes_sent, content);
  EXPECT_EQ(r.send_stats.entries, 15);
  EXPECT_EQ(r.receive_stats.entries, 15);
  EXPECT_GT(r.progress, content);
}

TEST(TransferTest, ResyncRequestsOnlyTheChangedFile) {
  TempDir t;
  bool has_xattr = false;
  BuildTree(t, &has_xattr);
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest")).receive.ok());
  const ino_t big_inode = Inode(t.Sub("dest/big"));

  WriteFile(t.Sub("src/dir/nested/leaf"), "changed");
  SetMtime(t.Sub("src/dir/nested/leaf"), 1700000000, 1);
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.send.ok()) << r.send.ToString();
  ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
  EXPECT_EQ(r.receive_stats.files_requested, 1);
  EXPECT_EQ(r.receive_stats.bytes_received, 7);
  EXPECT_EQ(r.send_stats.files_sent, 1);
  EXPECT_EQ(ReadFile(t.Sub("dest/dir/nested/leaf")), "changed");
  EXPECT_EQ(Inode(t.Sub("dest/big")), big_inode);  // untouched
  EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(t.Sub("src")));

  // Nothing changed: nothing requested.
  r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok());
  EXPECT_EQ(r.receive_stats.files_requested, 0);
}

TEST(TransferTest, MetadataOnlyChangeIsDetected) {
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/f"), "same");
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest")).receive.ok());
  chmod(t.Sub("src/f").c_str(), 0600);
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok());
  EXPECT_EQ(r.receive_stats.files_requested, 1);
  EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(t.Sub("src")));
}

TEST(TransferTest, EntriesWrittenCountsEveryChangeAndOnlyChanges) {
  TempDir t;
  MakeDir(t.Sub("src"));
  MakeDir(t.Sub("src/d"));
  WriteFile(t.Sub("src/d/f"), "same");
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest")).receive.ok());
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok());
  EXPECT_EQ(r.receive_stats.entries_written, 0);
  // A directory's mode alone (no file content) still counts as a change.
  struct stat st;
  ASSERT_EQ(stat(t.Sub("src/d").c_str(), &st), 0);
  chmod(t.Sub("src/d").c_str(), 0700);
  r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok());
  EXPECT_EQ(r.receive_stats.files_requested, 0);
  EXPECT_GE(r.receive_stats.entries_written, 1);
}

TEST(TransferTest, EntriesGoneFromTheSourceAreRemoved) {
  TempDir t;
  bool has_xattr = false;
  BuildTree(t, &has_xattr);
  WriteFile(t.Sub("src/dir/doomed"), "x");
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest")).receive.ok());
  ASSERT_TRUE(Exists(t.Sub("dest/dir/doomed")));

  ASSERT_EQ(unlink(t.Sub("src/dir/doomed").c_str()), 0);
  ASSERT_EQ(unlink(t.Sub("src/dir/nested/leaf").c_str()), 0);
  ASSERT_EQ(rmdir(t.Sub("src/dir/nested").c_str()), 0);
  SetMtime(t.Sub("src/dir"), 1600000003, 987654321);
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
  EXPECT_FALSE(Exists(t.Sub("dest/dir/doomed")));
  EXPECT_FALSE(Exists(t.Sub("dest/dir/nested")));
  EXPECT_EQ(r.receive_stats.entries_removed, 2);
  EXPECT_EQ(r.receive_stats.files_requested, 0);
  EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(t.Sub("src")));
}

TEST(TransferTest, TypeChangesReplaceEntries) {
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/becomes_dir"), "x");
  MakeDir(t.Sub("src/becomes_link"));
  WriteFile(t.Sub("src/becomes_link/child"), "x");
  MakeSymlink("somewhere", t.Sub("src/becomes_file"));
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest")).receive.ok());

  ASSERT_EQ(unlink(t.Sub("src/becomes_dir").c_str()), 0);
  MakeDir(t.Sub("src/becomes_dir"));
  WriteFile(t.Sub("src/becomes_dir/inner"), "y");
  std::filesystem::remove_all(t.Sub("src/becomes_link"));
  MakeSymlink("becomes_dir", t.Sub("src/becomes_link"));
  ASSERT_EQ(unlink(t.Sub("src/becomes_file").c_str()), 0);
  WriteFile(t.Sub("src/becomes_file"), "now a file");
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
  EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(t.Sub("src")));
}

TEST(TransferTest, WithoutChownFilesBelongToTheReceiver) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create files owned by another user";
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/f"), "x");
  MakeSymlink("f", t.Sub("src/l"));
  WalkOptions walk;
  walk.uid = 1234;
  walk.gid = 5678;
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("owned"), walk).receive.ok());
  struct stat st;
  ASSERT_EQ(lstat(t.Sub("owned/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(lstat(t.Sub("owned/l").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);

  ReceiveOptions no_chown;
  no_chown.chown = false;
  Transfer r = Sync(t.Sub("src"), t.Sub("mine"), walk, no_chown);
  ASSERT_TRUE(r.receive.ok());
  ASSERT_EQ(lstat(t.Sub("mine/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, geteuid());
  // Ownership is not compared either, so a resync requests nothing.
  r = Sync(t.Sub("src"), t.Sub("mine"), walk, no_chown);
  ASSERT_TRUE(r.receive.ok());
  EXPECT_EQ(r.receive_stats.files_requested, 0);
}

TEST(TransferTest, FiltersApplyOnTheSendingSide) {
  TempDir t;
  MakeDir(t.Sub("src"));
  MakeDir(t.Sub("src/app"));
  WriteFile(t.Sub("src/app/main.go"), "x");
  WriteFile(t.Sub("src/app/debug.log"), "x");
  MakeDir(t.Sub("src/node_modules"));
  WriteFile(t.Sub("src/node_modules/dep.js"), "x");
  WriteFile(t.Sub("src/Dockerfile"), "FROM scratch\n");
  MakeSymlink("app", t.Sub("src/current"));

  WalkOptions excl;
  excl.exclude_patterns = {"node_modules", "**/*.log"};
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("excl"), excl).receive.ok());
  EXPECT_TRUE(Exists(t.Sub("excl/app/main.go")));
  EXPECT_FALSE(Exists(t.Sub("excl/app/debug.log")));
  EXPECT_FALSE(Exists(t.Sub("excl/node_modules")));

  WalkOptions incl;
  incl.include_patterns = {"app/*.go"};
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("incl"), incl).receive.ok());
  EXPECT_TRUE(Exists(t.Sub("incl/app/main.go")));
  EXPECT_FALSE(Exists(t.Sub("incl/Dockerfile")));
  EXPECT_FALSE(Exists(t.Sub("incl/app/debug.log")));

  WalkOptions follow;
  follow.follow_paths = {"current", "Dockerfile"};
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("follow"), follow).receive.ok());
  EXPECT_TRUE(Exists(t.Sub("follow/Dockerfile")));
  EXPECT_TRUE(Exists(t.Sub("follow/current")));
  EXPECT_TRUE(Exists(t.Sub("follow/app/debug.log")));
  EXPECT_FALSE(Exists(t.Sub("follow/node_modules")));
}

TEST(TransferTest, SenderFailureReachesTheReceiverAsError) {
  TempDir t;
  Transfer r = Sync(t.Sub("no-such-dir"), t.Sub("dest"));
  EXPECT_EQ(r.send.code(), Code::kNotFound) << r.send.ToString();
  EXPECT_EQ(r.receive.code(), Code::kUnknown);
  EXPECT_NE(r.receive.message().find("error from sender:"), std::string::npos);
  EXPECT_NE(r.receive.message().find("no-such-dir"), std::string::npos) << r.receive.message();
}

TEST(TransferTest, ReceiverFailureReachesTheSenderAsError) {
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/f"), "x");
  WriteFile(t.Sub("not-a-dir"), "x");
  Transfer r = Sync(t.Sub("src"), t.Sub("not-a-dir"));
  EXPECT_FALSE(r.receive.ok());
  EXPECT_EQ(r.send.code(), Code::kUnknown) << r.send.ToString();
  EXPECT_NE(r.send.message().find("error from receiver:"), std::string::npos);
}

TEST(TransferTest, CancellingTheReceiverStopsBothSides) {
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/f"), testing::Content(1 << 20, 5));
  auto [a, b] = NewInMemoryPipe(1);
  Context ctx = Context::Background().Child();
  Status send;
  std::thread sender(
      [&, &a = a] { send = Send(Context::Background(), *a, t.Sub("src"), {}, nullptr); });
  ReceiveOptions opts;
  std::atomic<bool> cancelled{false};
  opts.progress = [&](int64_t) {
    if (!cancelled.exchange(true)) ctx.Cancel(Cancelled("build cancelled"));
  };
  Status recv = Receive(ctx, *b, t.Sub("dest"), opts, nullptr);
  sender.join();
  EXPECT_EQ(recv.code(), Code::kCancelled);
  EXPECT_NE(recv.message().find("build cancelled"), std::string::npos);
  EXPECT_FALSE(send.ok());
}

}  // namespace
}  // namespace kiln::fsutil
