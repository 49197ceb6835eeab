// Receive against a scripted sender: malformed streams must be rejected with InvalidArgument
// before anything is written outside the destination.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <thread>
#include <vector>

#include "fsutil/filemode.h"
#include "fsutil/receiver.h"
#include "fsutil/testing/temp_tree.h"

namespace kiln::fsutil {
namespace {

using testing::Exists;
using testing::MakeDir;
using testing::MakeSymlink;
using testing::ReadFile;
using testing::TempDir;

Packet StatPacket(const std::string& path, uint32_t mode, const std::string& linkname = "") {
  Packet p;
  p.set_type(Packet::PACKET_STAT);
  Stat* s = p.mutable_stat();
  s->set_path(path);
  s->set_mode(mode);
  s->set_uid(getuid());
  s->set_gid(getgid());
  s->set_linkname(linkname);
  s->set_modtime(1600000000000000000);
  return p;
}

Packet Simple(Packet::PacketType type, uint32_t id = 0, const std::string& data = "") {
  Packet p;
  p.set_type(type);
  p.set_id(id);
  p.set_data(data);
  return p;
}

Packet EndOfListing() { return Simple(Packet::PACKET_STAT); }

struct Outcome {
  Status status;
  std::vector<Packet> from_receiver;  // what the receiver sent back
};

// Plays `script` to Receive and collects the receiver's packets. The script does not wait for
// requests: DATA is queued right after the STATs, as a pipelined sender might.
// With `close`, the script half-closes the stream after its last packet.
Outcome Play(const std::string& dest, const std::vector<Packet>& script, bool close = false) {
  auto [sender, receiver] = NewInMemoryPipe(script.size() + 8);
  for (const Packet& p : script) EXPECT_TRUE(sender->Send(p).ok());
  if (close) {
    EXPECT_TRUE(sender->CloseSend().ok());
  }
  Outcome out;
  std::thread collect([&out, &s = sender] {
    Packet p;
    while (true) {
      Result<bool> r = s->Recv(&p);
      if (!r.ok() || !*r) return;
      out.from_receiver.push_back(p);
      if (p.type() == Packet::PACKET_FIN) {
        s->Send(Simple(Packet::PACKET_FIN)).IgnoreError();
        s->CloseSend().IgnoreError();
      }
    }
  });
  out.status = Receive(Context::Background(), *receiver, dest, {}, nullptr);
  receiver.reset();  // ends the collector
  collect.join();
  return out;
}

void ExpectInvalid(const Outcome& o, const std::string& needle) {
  EXPECT_EQ(o.status.code(), Code::kInvalidArgument) << o.status.ToString();
  EXPECT_NE(o.status.message().find(needle), std::string::npos) << o.status.message();
  // The sender is told why.
  ASSERT_FALSE(o.from_receiver.empty());
  EXPECT_EQ(o.from_receiver.back().type(), Packet::PACKET_ERR);
  EXPECT_EQ(o.from_receiver.back().data(), o.status.message());
}

TEST(ReceiverValidationTest, AcceptsAWellFormedScript) {
  TempDir t;
  Outcome o = Play(t.Sub("dest"),
                   {StatPacket("d", kModeDir | 0755), StatPacket("d/f", 0644), EndOfListing(),
                    Simple(Packet::PACKET_DATA, 1, "abc"), Simple(Packet::PACKET_DATA, 1)});
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(ReadFile(t.Sub("dest/d/f")), "abc");
  ASSERT_EQ(o.from_receiver.size(), 2u);
  EXPECT_EQ(o.from_receiver[0].type(), Packet::PACKET_REQ);
  EXPECT_EQ(o.from_receiver[0].id(), 1u);
  EXPECT_EQ(o.from_receiver[1].type(), Packet::PACKET_FIN);
}

TEST(ReceiverValidationTest, InterleavedDataForSeveralFiles) {
  TempDir t;
  Outcome o = Play(t.Sub("dest"),
                   {StatPacket("a", 0644), StatPacket("b", 0644), EndOfListing(),
                    Simple(Packet::PACKET_DATA, 1, "b1"), Simple(Packet::PACKET_DATA, 0, "a1"),
                    Simple(Packet::PACKET_DATA, 1, "b2"), Simple(Packet::PACKET_DATA, 0),
                    Simple(Packet::PACKET_DATA, 1)});
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(ReadFile(t.Sub("dest/a")), "a1");
  EXPECT_EQ(ReadFile(t.Sub("dest/b")), "b1b2");
}

TEST(ReceiverValidationTest, RejectsUnsortedNames) {
  TempDir t;
  Outcome o = Play(t.Sub("dest"), {StatPacket("b", 0644), StatPacket("a", 0644), EndOfListing()});
  ExpectInvalid(o, "\"a\" is out of order");
  o = Play(t.Sub("dest2"), {StatPacket("a", 0644), StatPacket("a", 0644), EndOfListing()});
  ExpectInvalid(o, "\"a\" is out of order");
}

TEST(ReceiverValidationTest, RejectsPathsThatEscape) {
  TempDir t;
  MakeDir(t.Sub("dest"));
  for (const char* bad : {"../x", "..", "a/../../x"}) {
    Outcome o = Play(t.Sub("dest"), {StatPacket(bad, 0644), EndOfListing()});
    EXPECT_EQ(o.status.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(o.status.message().find(bad), std::string::npos) << o.status.message();
  }
  EXPECT_FALSE(Exists(t.Sub("x")));
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("/etc/x", 0644), EndOfListing()}), "absolute");
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("a//b", 0644), EndOfListing()}), "clean");
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("./a", 0644), EndOfListing()}), "clean");
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("", 0644), EndOfListing()}), "empty path");
}

TEST(ReceiverValidationTest, RejectsChildBeforeParent) {
  TempDir t;
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("d/x", 0644), EndOfListing()}),
                "\"d/x\" arrived before its parent directory");
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("f", 0644), StatPacket("f/x", 0644)}),
                "not a directory");
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("d", kModeDir | 0755), StatPacket("e", 0644),
                                     StatPacket("d/x", 0644)}),
                "\"d/x\" is out of order");
}

TEST(ReceiverValidationTest, RejectsDataForAnUnrequestedId) {
  TempDir t;
  ExpectInvalid(Play(t.Sub("dest"), {StatPacket("d", kModeDir | 0755), EndOfListing(),
                                     Simple(Packet::PACKET_DATA, 0, "x")}),
                "file ID 0");
  ExpectInvalid(Play(t.Sub("dest2"), {StatPacket("f", 0644), Simple(Packet::PACKET_DATA, 7, "x")}),
                "file ID 7");
}

TEST(ReceiverValidationTest, RejectsBadIdsHardlinksAndTypes) {
  TempDir t;
  Packet wrong_id = StatPacket("b", 0644);
  wrong_id.set_id(5);
  ExpectInvalid(Play(t.Sub("d1"), {StatPacket("a", 0644), wrong_id}), "has ID 5, expected 1");
  ExpectInvalid(Play(t.Sub("d2"), {StatPacket("link", 0644, "missing"), EndOfListing()}),
                "hardlink to \"missing\"");
  ExpectInvalid(Play(t.Sub("d3"), {StatPacket("sock", kModeSocket | 0755), EndOfListing()}),
                "unsupported file type");
  ExpectInvalid(Play(t.Sub("d4"), {EndOfListing(), StatPacket("late", 0644)}),
                "after the end of the listing");
  ExpectInvalid(Play(t.Sub("d5"), {Simple(Packet::PACKET_REQ, 0)}), "unexpected packet type");
}

TEST(ReceiverValidationTest, NeverWritesThroughSymlinksInTheDestination) {
  TempDir t;
  MakeDir(t.Sub("outside"));
  MakeDir(t.Sub("dest"));
  // Left by an earlier transfer, or planted: "d" points outside the destination.
  MakeSymlink(t.Sub("outside"), t.Sub("dest/d"));
  Outcome o = Play(t.Sub("dest"),
                   {StatPacket("d", kModeDir | 0755), StatPacket("d/f", 0644), EndOfListing(),
                    Simple(Packet::PACKET_DATA, 1, "data"), Simple(Packet::PACKET_DATA, 1)});
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_FALSE(Exists(t.Sub("outside/f")));
  EXPECT_EQ(ReadFile(t.Sub("dest/d/f")), "data");
  struct stat st;
  ASSERT_EQ(lstat(t.Sub("dest/d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  // A symlink sent by the sender can never be a parent of a later entry.
  ExpectInvalid(Play(t.Sub("dest2"), {StatPacket("l", kModeSymlink | 0777, t.Sub("outside")),
                                      StatPacket("l/f", 0644)}),
                "not a directory");
  EXPECT_FALSE(Exists(t.Sub("outside/f")));
}

TEST(ReceiverValidationTest, SenderErrorBecomesTheError) {
  TempDir t;
  Outcome o = Play(t.Sub("dest"), {StatPacket("a", 0644),
                                   Simple(Packet::PACKET_ERR, 0, "walk failed: disk on fire")});
  EXPECT_EQ(o.status.code(), Code::kUnknown);
  EXPECT_EQ(o.status.message(), "error from sender: walk failed: disk on fire");
  // No ERR is echoed back.
  for (const Packet& p : o.from_receiver) EXPECT_NE(p.type(), Packet::PACKET_ERR);
}

TEST(ReceiverValidationTest, StreamEndingEarlyIsAnError) {
  TempDir t;
  // The sender goes away without sending the requested file.
  Outcome o = Play(t.Sub("dest"), {StatPacket("a", 0644), EndOfListing()}, /*close=*/true);
  EXPECT_EQ(o.status.code(), Code::kUnavailable) << o.status.ToString();
  EXPECT_FALSE(Exists(t.Sub("dest/a")));
}

}  // namespace
}  // namespace kiln::fsutil
