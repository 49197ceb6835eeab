// Send against a scripted receiver.
#include "fsutil/sender.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "fsutil/testing/temp_tree.h"

namespace kiln::fsutil {
namespace {

using testing::TempDir;
using testing::WriteFile;

Packet Simple(Packet::PacketType type, uint32_t id = 0, const std::string& data = "") {
  Packet p;
  p.set_type(type);
  p.set_id(id);
  p.set_data(data);
  return p;
}

// Runs Send on a thread; the test plays the receiver through `r`.
class SenderHarness {
 public:
  explicit SenderHarness(const std::string& root, size_t capacity = 4) {
    auto [s, r] = NewInMemoryPipe(capacity);
    s_ = std::move(s);
    r_ = std::move(r);
    thread_ = std::thread(
        [this, root] { status_ = Send(Context::Background(), *s_, root, opts_, &stats_); });
  }
  ~SenderHarness() { Join().IgnoreError(); }

  PacketStream& r() { return *r_; }
  Packet Next() {
    Packet p;
    Result<bool> more = r_->Recv(&p);
    EXPECT_TRUE(more.ok() && *more) << more.status().ToString();
    return p;
  }
  Status Join() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  const SendStats& stats() const { return stats_; }

 private:
  WalkOptions opts_;
  std::unique_ptr<PacketStream> s_;
  std::unique_ptr<PacketStream> r_;
  std::thread thread_;
  Status status_;
  SendStats stats_;
};

TEST(SenderTest, AnswersRequestsWhileStillWalking) {
  TempDir t;
  // The pipe holds 2 packets, so the listing cannot run far ahead of what we read: a sender
  // that serves requests while walking sends the file long before the listing ends.
  for (int i = 0; i < 1000; i++) WriteFile(t.Sub("f" + std::to_string(1000 + i)), "data");
  SenderHarness h(t.path(), 2);
  Packet first = h.Next();
  ASSERT_EQ(first.type(), Packet::PACKET_STAT);
  EXPECT_EQ(first.stat().path(), "f1000");
  EXPECT_EQ(first.id(), 0u);  // like Go, STAT packets leave the ID field unset
  ASSERT_TRUE(h.r().Send(Simple(Packet::PACKET_REQ, 0)).ok());
  bool listing_done = false;
  std::string data;
  while (true) {
    Packet p = h.Next();
    if (p.type() == Packet::PACKET_STAT) {
      if (!p.has_stat()) listing_done = true;
      continue;
    }
    ASSERT_EQ(p.type(), Packet::PACKET_DATA);
    ASSERT_EQ(p.id(), 0u);
    if (p.data().empty()) break;
    data += p.data();
  }
  EXPECT_EQ(data, "data");
  EXPECT_FALSE(listing_done) << "the file was sent only after the whole listing";
  while (true) {
    Packet p = h.Next();
    if (p.type() == Packet::PACKET_STAT && !p.has_stat()) break;
  }
  ASSERT_TRUE(h.r().Send(Simple(Packet::PACKET_FIN)).ok());
  EXPECT_EQ(h.Next().type(), Packet::PACKET_FIN);
  Packet p;
  Result<bool> end = h.r().Recv(&p);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  EXPECT_TRUE(h.Join().ok());
  EXPECT_EQ(h.stats().entries, 1000);
  EXPECT_EQ(h.stats().files_sent, 1);
  EXPECT_EQ(h.stats().bytes_sent, 4);
}

TEST(SenderTest, SendsFilesIn32KiBChunksEndedByEmptyData) {
  TempDir t;
  WriteFile(t.Sub("big"), testing::Content(3 * 32768 + 4096, 9));
  SenderHarness h(t.path());
  EXPECT_EQ(h.Next().stat().path(), "big");
  EXPECT_FALSE(h.Next().has_stat());
  ASSERT_TRUE(h.r().Send(Simple(Packet::PACKET_REQ, 0)).ok());
  std::vector<size_t> sizes;
  std::string data;
  while (true) {
    Packet p = h.Next();
    ASSERT_EQ(p.type(), Packet::PACKET_DATA);
    sizes.push_back(p.data().size());
    data += p.data();
    if (p.data().empty()) break;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{32768, 32768, 32768, 4096, 0}));
  EXPECT_EQ(data, testing::Content(3 * 32768 + 4096, 9));
  ASSERT_TRUE(h.r().Send(Simple(Packet::PACKET_FIN)).ok());
  EXPECT_EQ(h.Next().type(), Packet::PACKET_FIN);
  EXPECT_TRUE(h.Join().ok());
}

TEST(SenderTest, RequestForAnUnknownIdIsAnError) {
  TempDir t;
  testing::MakeDir(t.Sub("dir"));
  SenderHarness h(t.path());
  EXPECT_EQ(h.Next().stat().path(), "dir");
  ASSERT_TRUE(h.r().Send(Simple(Packet::PACKET_REQ, 0)).ok());  // a directory
  Status s = h.Join();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown file id 0"), std::string::npos) << s.message();
}

TEST(SenderTest, ErrorFromTheReceiverIsReturned) {
  TempDir t;
  WriteFile(t.Sub("f"), "x");
  SenderHarness h(t.path());
  h.Next();
  ASSERT_TRUE(h.r().Send(Simple(Packet::PACKET_ERR, 0, "disk full")).ok());
  Status s = h.Join();
  EXPECT_EQ(s.message(), "error from receiver: disk full");
}

}  // namespace
}  // namespace kiln::fsutil
