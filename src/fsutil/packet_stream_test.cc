#include "fsutil/packet_stream.h"

#include <gtest/gtest.h>

#include <thread>

namespace kiln::fsutil {
namespace {

Packet Data(uint32_t id, std::string data) {
  Packet p;
  p.set_type(Packet::PACKET_DATA);
  p.set_id(id);
  p.set_data(std::move(data));
  return p;
}

TEST(InMemoryPipeTest, DeliversInOrderAndEndsAfterCloseSend) {
  auto [a, b] = NewInMemoryPipe(2);
  std::thread writer([&a = a] {
    for (uint32_t i = 0; i < 100; i++) ASSERT_TRUE(a->Send(Data(i, "x")).ok());
    ASSERT_TRUE(a->CloseSend().ok());
  });
  Packet p;
  for (uint32_t i = 0; i < 100; i++) {
    Result<bool> r = b->Recv(&p);
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ(p.id(), i);
  }
  Result<bool> end = b->Recv(&p);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  writer.join();
  EXPECT_EQ(a->Send(Data(0, "late")).code(), Code::kFailedPrecondition);
}

TEST(InMemoryPipeTest, CancelUnblocksBothSides) {
  auto [a, b] = NewInMemoryPipe(1);
  ASSERT_TRUE(a->Send(Data(1, "queued")).ok());
  std::thread blocked_send([&a = a] {
    EXPECT_EQ(a->Send(Data(2, "blocked")).code(), Code::kAborted);  // pipe is full
  });
  Packet p;
  std::thread blocked_recv([&a = a] {
    Packet q;
    EXPECT_EQ(a->Recv(&q).status().code(), Code::kAborted);
  });
  b->Cancel(Status(Code::kAborted, "stop"));
  blocked_send.join();
  blocked_recv.join();
  // What was delivered before the cancel can still be read.
  Result<bool> r = b->Recv(&p);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(p.data(), "queued");
}

TEST(InMemoryPipeTest, DestroyingOneEndCancelsTheOther) {
  auto [a, b] = NewInMemoryPipe();
  a.reset();
  Packet p;
  EXPECT_EQ(b->Recv(&p).status().code(), Code::kCancelled);
}

}  // namespace
}  // namespace kiln::fsutil
