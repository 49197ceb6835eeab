// End-to-end tests: Send and Receive on two threads joined by an in-memory pipe, with one
// packet per message or in batches.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fsutil/batch_stream.h"
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

// The stream the transfer runs over: one packet per message, or batches (batch_stream.h) with
// the real limits or with tiny ones, so that batches split listings and files everywhere.
enum class Wire { kPackets, kBatches, kTinyBatches };

std::string WireName(const ::testing::TestParamInfo<Wire>& info) {
  switch (info.param) {
    case Wire::kPackets:
      return "Packets";
    case Wire::kBatches:
      return "Batches";
    case Wire::kTinyBatches:
      return "TinyBatches";
  }
  return "Unknown";
}

// Two connected PacketStreams over `wire`, each direction holding up to `capacity` messages.
class StreamPair {
 public:
  StreamPair(Wire wire, size_t capacity) {
    if (wire == Wire::kPackets) {
      auto [a, b] = NewInMemoryPipe(capacity);
      a_ = std::move(a);
      b_ = std::move(b);
      return;
    }
    auto [ta, tb] = NewInMemoryBatchPipe(capacity);
    ta_ = std::move(ta);
    tb_ = std::move(tb);
    BatchingPacketStream::Limits limits;
    if (wire == Wire::kTinyBatches) {
      limits.max_packets = 3;
      limits.max_bytes = 40 * 1024;
      limits.max_queued = 0;
    }
    a_ = std::make_unique<BatchingPacketStream>(*ta_, limits);
    b_ = std::make_unique<BatchingPacketStream>(*tb_, limits);
  }
  PacketStream& a() { return *a_; }
  PacketStream& b() { return *b_; }

 private:
  std::unique_ptr<BatchTransport> ta_, tb_;  // declared first: they outlive the streams
  std::unique_ptr<PacketStream> a_, b_;
};

class TransferTest : public ::testing::TestWithParam<Wire> {
 protected:
  Transfer Sync(const std::string& src, const std::string& dest, const WalkOptions& walk = {},
                ReceiveOptions recv = {}) {
    Transfer t;
    StreamPair pipe(GetParam(), 4);
    recv.progress = [&t](int64_t bytes) { t.progress = bytes; };
    std::thread sender(
        [&] { t.send = Send(Context::Background(), pipe.a(), src, walk, &t.send_stats); });
    t.receive = Receive(Context::Background(), pipe.b(), dest, recv, &t.receive_stats);
    sender.join();
    return t;
  }
};

INSTANTIATE_TEST_SUITE_P(Wires, TransferTest,
                         ::testing::Values(Wire::kPackets, Wire::kBatches, Wire::kTinyBatches),
                         WireName);

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

TEST_P(TransferTest, RoundTripsATree) {
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

TEST_P(TransferTest, ReturnAtFinLeavesACompleteTreeAndTheStreamToFinishAfterFin) {
  TempDir t;
  bool has_xattr = false;
  BuildTree(t, &has_xattr);
  for (int round = 0; round < 2; ++round) {  // a first copy, then one where nothing changes
    StreamPair pipe(GetParam(), 4);
    Status send;
    std::thread sender(
        [&] { send = Send(Context::Background(), pipe.a(), t.Sub("src"), {}, nullptr); });
    ReceiveOptions recv;
    recv.return_at_fin = true;
    Status got = Receive(Context::Background(), pipe.b(), t.Sub("dest"), recv, nullptr);
    ASSERT_TRUE(got.ok()) << got.ToString();
    // Complete before the sender's FIN has been read.
    EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(t.Sub("src")));
    Status end = FinishAfterFin(pipe.b());
    EXPECT_TRUE(end.ok()) << end.ToString();
    sender.join();
    EXPECT_TRUE(send.ok()) << send.ToString();
  }
}

TEST_P(TransferTest, FinishAfterFinReportsASenderThatDoesNotEndProperly) {
  StreamPair pipe(GetParam(), 4);
  Packet data;
  data.set_type(Packet::PACKET_DATA);
  data.set_id(1);
  ASSERT_TRUE(pipe.a().Send(data).ok());
  ASSERT_TRUE(pipe.a().CloseSend().ok());
  Status end = FinishAfterFin(pipe.b());
  EXPECT_EQ(end.code(), Code::kInvalidArgument) << end.ToString();

  StreamPair closed(GetParam(), 4);
  ASSERT_TRUE(closed.a().CloseSend().ok());
  EXPECT_EQ(FinishAfterFin(closed.b()).code(), Code::kUnavailable);
}

TEST_P(TransferTest, ResyncRequestsOnlyTheChangedFile) {
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

TEST_P(TransferTest, WrittenFilesAreReportedWithTheirContentDigest) {
  TempDir t;
  bool has_xattr = false;
  BuildTree(t, &has_xattr);
  std::map<std::string, Digest> seen;
  ReceiveOptions recv;
  recv.on_file_content = [&seen](const std::string& path, const Digest& d) {
    EXPECT_TRUE(seen.emplace(path, d).second) << path;
  };
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"), {}, recv);
  ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
  // Every regular file whose content was sent, hashed as written (hardlinks are links).
  EXPECT_EQ(static_cast<int64_t>(seen.size()), r.receive_stats.files_requested);
  for (const char* p : {"empty", "small", "chunk", "chunk_plus_one", "big", "setuid",
                        "dir/nested/leaf", "readonly/inside"}) {
    ASSERT_TRUE(seen.count(p)) << p;
    EXPECT_EQ(seen[p], Digest::FromBytes(ReadFile(t.Sub(std::string("dest/") + p)))) << p;
  }
  // A resync writes (and reports) only the changed file.
  seen.clear();
  WriteFile(t.Sub("src/small"), "other\n");
  SetMtime(t.Sub("src/small"), 1700000000, 2);
  r = Sync(t.Sub("src"), t.Sub("dest"), {}, recv);
  ASSERT_TRUE(r.receive.ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.begin()->first, "small");
  EXPECT_EQ(seen.begin()->second, Digest::FromBytes("other\n"));
}

TEST_P(TransferTest, MetadataOnlyChangeIsDetected) {
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

TEST_P(TransferTest, EntriesWrittenCountsEveryChangeAndOnlyChanges) {
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

// before_first_change runs once, before anything in dest changes, and never for a resync that
// finds nothing to change; its error fails the transfer with dest untouched.
TEST_P(TransferTest, FirstChangeHookRunsOnceBeforeAChangeAndNeverWithout) {
  TempDir t;
  MakeDir(t.Sub("src"));
  MakeDir(t.Sub("src/d"));
  WriteFile(t.Sub("src/d/f"), "one");
  int calls = 0;
  bool dest_empty_at_call = false;
  ReceiveOptions o;
  o.before_first_change = [&]() -> Status {
    calls++;
    dest_empty_at_call = !Exists(t.Sub("dest/d"));
    return Status::Ok();
  };
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest"), {}, o).receive.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(dest_empty_at_call);

  calls = 0;
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest"), {}, o).receive.ok());
  EXPECT_EQ(calls, 0);

  WriteFile(t.Sub("src/d/f"), "two");
  SetMtime(t.Sub("src/d/f"), 1600000100, 0);
  ASSERT_TRUE(Sync(t.Sub("src"), t.Sub("dest"), {}, o).receive.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ReadFile(t.Sub("dest/d/f")), "two");

  ReceiveOptions refuse;
  refuse.before_first_change = [] { return Internal("refused"); };
  WriteFile(t.Sub("src/d/f"), "three");
  SetMtime(t.Sub("src/d/f"), 1600000200, 0);
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"), {}, refuse);
  EXPECT_FALSE(r.receive.ok());
  EXPECT_NE(r.receive.message().find("refused"), std::string::npos) << r.receive.ToString();
  EXPECT_EQ(ReadFile(t.Sub("dest/d/f")), "two");
}

TEST_P(TransferTest, EntriesGoneFromTheSourceAreRemoved) {
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

TEST_P(TransferTest, TypeChangesReplaceEntries) {
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

TEST_P(TransferTest, WithoutChownFilesBelongToTheReceiver) {
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

TEST_P(TransferTest, FiltersApplyOnTheSendingSide) {
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

TEST_P(TransferTest, SenderFailureReachesTheReceiverAsError) {
  TempDir t;
  Transfer r = Sync(t.Sub("no-such-dir"), t.Sub("dest"));
  EXPECT_EQ(r.send.code(), Code::kNotFound) << r.send.ToString();
  EXPECT_EQ(r.receive.code(), Code::kUnknown);
  EXPECT_NE(r.receive.message().find("error from sender:"), std::string::npos);
  EXPECT_NE(r.receive.message().find("no-such-dir"), std::string::npos) << r.receive.message();
}

TEST_P(TransferTest, ReceiverFailureReachesTheSenderAsError) {
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/f"), "x");
  WriteFile(t.Sub("not-a-dir"), "x");
  Transfer r = Sync(t.Sub("src"), t.Sub("not-a-dir"));
  EXPECT_FALSE(r.receive.ok());
  EXPECT_EQ(r.send.code(), Code::kUnknown) << r.send.ToString();
  EXPECT_NE(r.send.message().find("error from receiver:"), std::string::npos);
}

TEST_P(TransferTest, CancellingTheReceiverStopsBothSides) {
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/f"), testing::Content(1 << 20, 5));
  StreamPair pipe(GetParam(), 1);
  Context ctx = Context::Background().Child();
  Status send;
  std::thread sender(
      [&] { send = Send(Context::Background(), pipe.a(), t.Sub("src"), {}, nullptr); });
  ReceiveOptions opts;
  std::atomic<bool> cancelled{false};
  opts.progress = [&](int64_t) {
    if (!cancelled.exchange(true)) ctx.Cancel(Cancelled("build cancelled"));
  };
  Status recv = Receive(ctx, pipe.b(), t.Sub("dest"), opts, nullptr);
  sender.join();
  EXPECT_EQ(recv.code(), Code::kCancelled);
  EXPECT_NE(recv.message().find("build cancelled"), std::string::npos);
  EXPECT_FALSE(send.ok());
}

// ReceiveOptions for a resync into the dest of `prev`, with what it learnt about xattrs (as the
// local source does) or without.
ReceiveOptions Resync(const Transfer& prev, bool hint) {
  ReceiveOptions o;
  if (hint && prev.receive_stats.xattr_paths.has_value()) {
    o.dest_xattr_paths.emplace(prev.receive_stats.xattr_paths->begin(),
                               prev.receive_stats.xattr_paths->end());
  }
  return o;
}

TEST_P(TransferTest, XattrChangesAreTransferredWithAndWithoutTheXattrHint) {
  for (bool hint : {false, true}) {
    SCOPED_TRACE(hint ? "with dest_xattr_paths" : "without dest_xattr_paths");
    TempDir t;
    const std::string s = t.Sub("src");
    MakeDir(s);
    MakeDir(s + "/d");
    WriteFile(s + "/d/f", "f");
    WriteFile(s + "/g", "g");
    WriteFile(s + "/h", "h");
    if (!testing::TrySetXattr(s + "/d", "user.a", "1")) GTEST_SKIP() << "no user xattrs here";
    ASSERT_TRUE(testing::TrySetXattr(s + "/d/f", "user.b", "2"));
    Transfer r = Sync(s, t.Sub("dest"));
    ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
    EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(s));
    EXPECT_EQ(r.receive_stats.xattr_paths, (std::vector<std::string>{"d", "d/f"}));

    // Removed from a directory (kept, so the xattr must be taken off it), changed on a file,
    // added to a file that had none.
    ASSERT_EQ(lremovexattr((s + "/d").c_str(), "user.a"), 0);
    ASSERT_TRUE(testing::TrySetXattr(s + "/d/f", "user.b", "22"));
    ASSERT_TRUE(testing::TrySetXattr(s + "/g", "user.c", "3"));
    r = Sync(s, t.Sub("dest"), {}, Resync(r, hint));
    ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
    EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(s));
    EXPECT_EQ(r.receive_stats.files_requested, 2);  // d/f and g; d only changes metadata
    EXPECT_EQ(r.receive_stats.xattr_paths, (std::vector<std::string>{"d/f", "g"}));

    // Nothing changed: nothing is requested or written.
    r = Sync(s, t.Sub("dest"), {}, Resync(r, hint));
    ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
    EXPECT_EQ(r.receive_stats.files_requested, 0);
    EXPECT_EQ(r.receive_stats.entries_written, 0);
    EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(s));
  }
}

// dest is changed behind the receiver's back here only to observe what the hint saves: with it,
// an entry listed without xattrs that had none is not read; without it, every entry is.
TEST_P(TransferTest, XattrHintSkipsReadingEntriesThatHadNone) {
  TempDir t;
  MakeDir(t.Sub("src"));
  WriteFile(t.Sub("src/f"), "f");
  Transfer r = Sync(t.Sub("src"), t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok());
  EXPECT_EQ(r.receive_stats.xattr_paths, std::vector<std::string>{});
  if (!testing::TrySetXattr(t.Sub("dest/f"), "user.stray", "x")) {
    GTEST_SKIP() << "no user xattrs here";
  }
  Transfer hinted = Sync(t.Sub("src"), t.Sub("dest"), {}, Resync(r, true));
  ASSERT_TRUE(hinted.receive.ok());
  EXPECT_EQ(hinted.receive_stats.files_requested, 0);
  Transfer full = Sync(t.Sub("src"), t.Sub("dest"), {}, Resync(r, false));
  ASSERT_TRUE(full.receive.ok());
  EXPECT_EQ(full.receive_stats.files_requested, 1);
  EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(t.Sub("src")));
}

// A hardlink shares its target's inode, and so its xattrs: it counts as a path with xattrs.
TEST_P(TransferTest, XattrsOfAFormerHardlinkAreCompared) {
  TempDir t;
  const std::string s = t.Sub("src");
  MakeDir(s);
  WriteFile(s + "/a", "shared");
  if (!testing::TrySetXattr(s + "/a", "user.x", "1")) GTEST_SKIP() << "no user xattrs here";
  MakeHardlink(s + "/a", s + "/b");
  Transfer r = Sync(s, t.Sub("dest"));
  ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
  EXPECT_EQ(r.receive_stats.xattr_paths, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(unlink((s + "/a").c_str()), 0);
  ASSERT_EQ(lremovexattr((s + "/b").c_str(), "user.x"), 0);
  r = Sync(s, t.Sub("dest"), {}, Resync(r, true));
  ASSERT_TRUE(r.receive.ok()) << r.receive.ToString();
  EXPECT_EQ(DescribeTree(t.Sub("dest")), DescribeTree(s));
}

}  // namespace
}  // namespace kiln::fsutil
