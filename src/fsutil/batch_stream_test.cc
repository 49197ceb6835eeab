#include "fsutil/batch_stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kiln::fsutil {
namespace {

using std::chrono::seconds;

Packet Data(uint32_t id, std::string data) {
  Packet p;
  p.set_type(Packet::PACKET_DATA);
  p.set_id(id);
  p.set_data(std::move(data));
  return p;
}

// Forwards to another transport and records how many packets each written message held.
class RecordingTransport : public BatchTransport {
 public:
  explicit RecordingTransport(BatchTransport& inner) : inner_(inner) {}
  Status Write(const PacketBatch& batch) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_.push_back(batch.packets_size());
    }
    return inner_.Write(batch);
  }
  Result<bool> Read(PacketBatch* batch) override { return inner_.Read(batch); }
  Status CloseWrite() override { return inner_.CloseWrite(); }
  void Cancel(const Status& cause) override { inner_.Cancel(cause); }
  std::vector<int> sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return sizes_;
  }

 private:
  BatchTransport& inner_;
  std::mutex mu_;
  std::vector<int> sizes_;
};

// Two batching streams joined by an in-memory pipe; a's writes are recorded.
struct Ends {
  explicit Ends(size_t capacity = 4, BatchingPacketStream::Limits limits = {}) {
    auto [x, y] = NewInMemoryBatchPipe(capacity);
    ta = std::move(x);
    tb = std::move(y);
    rec = std::make_unique<RecordingTransport>(*ta);
    a = std::make_unique<BatchingPacketStream>(*rec, limits);
    b = std::make_unique<BatchingPacketStream>(*tb, limits);
  }
  std::unique_ptr<BatchTransport> ta, tb;
  std::unique_ptr<RecordingTransport> rec;
  std::unique_ptr<BatchingPacketStream> a, b;
};

// Runs fn on a thread; fails (and cancels both ends so it can return) if it takes too long.
void WithinDeadline(Ends& e, const std::function<void()>& fn) {
  auto done = std::async(std::launch::async, fn);
  if (done.wait_for(seconds(20)) == std::future_status::timeout) {
    ADD_FAILURE() << "deadlock: cancelling both ends";
    e.a->Cancel(Cancelled("test deadline"));
    e.b->Cancel(Cancelled("test deadline"));
  }
  done.get();
}

TEST(BatchingPacketStreamTest, KeepsOrderAndFormsFullBatches) {
  Ends e;
  std::thread writer([&] {
    for (uint32_t i = 0; i < 3000; i++) ASSERT_TRUE(e.a->SendBuffered(Data(i, "x")).ok());
    ASSERT_TRUE(e.a->CloseSend().ok());
  });
  Packet p;
  for (uint32_t i = 0; i < 3000; i++) {
    Result<bool> r = e.b->Recv(&p);
    ASSERT_TRUE(r.ok() && *r);
    ASSERT_EQ(p.id(), i);
    ASSERT_EQ(p.data(), "x");
  }
  Result<bool> end = e.b->Recv(&p);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  writer.join();
  // 1024 packets per message, the rest with CloseSend.
  EXPECT_EQ(e.rec->sizes(), (std::vector<int>{1024, 1024, 952}));
  EXPECT_EQ(e.a->batches_written(), 3);
  EXPECT_EQ(e.b->batches_read(), 3);
}

TEST(BatchingPacketStreamTest, BatchesCloseAtTheByteLimit) {
  Ends e;
  const std::string chunk(300 * 1024, 'd');
  for (uint32_t i = 0; i < 10; i++) ASSERT_TRUE(e.a->SendBuffered(Data(i, chunk)).ok());
  ASSERT_TRUE(e.a->CloseSend().ok());
  // 4 chunks pass 1 MiB; the last 2 go out with CloseSend.
  EXPECT_EQ(e.rec->sizes(), (std::vector<int>{4, 4, 2}));
  Packet p;
  for (uint32_t i = 0; i < 10; i++) {
    ASSERT_TRUE(*e.b->Recv(&p));
    EXPECT_EQ(p.id(), i);
    EXPECT_EQ(p.data().size(), chunk.size());
  }
}

TEST(BatchingPacketStreamTest, SendAndFlushWriteWhatIsPending) {
  Ends e;
  ASSERT_TRUE(e.a->SendBuffered(Data(1, "a")).ok());
  ASSERT_TRUE(e.a->SendBuffered(Data(2, "b")).ok());
  ASSERT_TRUE(e.a->Send(Data(3, "c")).ok());
  ASSERT_TRUE(e.a->SendBuffered(Data(4, "d")).ok());
  ASSERT_TRUE(e.a->Flush().ok());
  ASSERT_TRUE(e.a->Flush().ok());  // nothing pending: no empty message
  Packet p;
  for (uint32_t i = 1; i <= 4; i++) {
    ASSERT_TRUE(*e.b->Recv(&p));
    EXPECT_EQ(p.id(), i);
  }
  EXPECT_EQ(e.rec->sizes(), (std::vector<int>{3, 1}));
}

TEST(BatchingPacketStreamTest, CloseSendDeliversPendingPacketsThenEnds) {
  Ends e;
  for (uint32_t i = 0; i < 3; i++) ASSERT_TRUE(e.a->SendBuffered(Data(i, "p")).ok());
  ASSERT_TRUE(e.a->CloseSend().ok());
  EXPECT_EQ(e.a->SendBuffered(Data(9, "late")).code(), Code::kFailedPrecondition);
  Packet p;
  for (uint32_t i = 0; i < 3; i++) {
    ASSERT_TRUE(*e.b->Recv(&p));
    EXPECT_EQ(p.id(), i);
  }
  Result<bool> end = e.b->Recv(&p);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
}

// Only SendBuffered on both sides: each answer is written because the peer's Recv flushes it.
TEST(BatchingPacketStreamTest, RecvFlushesPendingSendsSoPingPongDoesNotDeadlock) {
  Ends e;
  WithinDeadline(e, [&] {
    std::thread echo([&] {
      Packet q;
      while (true) {
        Result<bool> r = e.b->Recv(&q);
        if (!r.ok() || !*r) break;
        q.set_id(q.id() + 1000);
        if (!e.b->SendBuffered(q).ok()) break;
      }
      e.b->CloseSend().IgnoreError();
    });
    Packet p;
    bool ok = true;
    for (uint32_t i = 0; ok && i < 200; i++) {
      ok = e.a->SendBuffered(Data(i, "ping")).ok();
      Result<bool> r = e.a->Recv(&p);
      ok = ok && r.ok() && *r && p.id() == i + 1000;
    }
    EXPECT_TRUE(ok);
    EXPECT_TRUE(e.a->CloseSend().ok());
    echo.join();
  });
  EXPECT_EQ(e.a->batches_written(), 200);
}

// Recv must not wait for our own writes: here they cannot progress until the peer reads, and
// the peer reads only after we have received its packet.
TEST(BatchingPacketStreamTest, RecvNeverWaitsForBlockedWrites) {
  BatchingPacketStream::Limits roomy;
  roomy.max_queued = 16;
  Ends e(/*capacity=*/1, roomy);
  WithinDeadline(e, [&] {
    for (uint32_t i = 0; i < 4; i++) ASSERT_TRUE(e.a->Send(Data(i, "fill")).ok());
    ASSERT_TRUE(e.a->SendBuffered(Data(4, "pending")).ok());
    ASSERT_TRUE(e.b->Send(Data(77, "hello")).ok());
    Packet p;
    Result<bool> r = e.a->Recv(&p);
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ(p.data(), "hello");
    for (uint32_t i = 0; i < 5; i++) {
      ASSERT_TRUE(*e.b->Recv(&p));
      EXPECT_EQ(p.id(), i);
    }
  });
}

TEST(BatchingPacketStreamTest, CancelUnblocksReadersAndWaitingProducers) {
  BatchingPacketStream::Limits tight;
  tight.max_packets = 1;
  tight.max_queued = 0;
  Ends e(/*capacity=*/1, tight);
  std::promise<Status> recv_status;
  std::thread reader([&] {
    Packet q;
    recv_status.set_value(e.a->Recv(&q).status());
  });
  std::promise<Status> send_status;
  std::thread producer([&] {
    // The pipe holds one message and the writer one more; then producers wait for room.
    Status s;
    for (uint32_t i = 0; s.ok() && i < 100; i++) s = e.a->SendBuffered(Data(i, "x"));
    send_status.set_value(s);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  e.a->Cancel(Status(Code::kAborted, "stop"));
  auto sent = send_status.get_future();
  auto received = recv_status.get_future();
  ASSERT_EQ(sent.wait_for(seconds(20)), std::future_status::ready);
  ASSERT_EQ(received.wait_for(seconds(20)), std::future_status::ready);
  EXPECT_EQ(sent.get().code(), Code::kAborted);
  EXPECT_EQ(received.get().code(), Code::kAborted);
  producer.join();
  reader.join();
  EXPECT_EQ(e.a->Send(Data(1, "late")).code(), Code::kAborted);
  EXPECT_EQ(e.a->CloseSend().code(), Code::kAborted);
}

TEST(BatchingPacketStreamTest, EmptyMessagesAreSkipped) {
  auto [ta, tb] = NewInMemoryBatchPipe();
  BatchingPacketStream b(*tb);
  ASSERT_TRUE(ta->Write(PacketBatch()).ok());
  PacketBatch one;
  *one.add_packets() = Data(5, "five");
  ASSERT_TRUE(ta->Write(one).ok());
  ASSERT_TRUE(ta->CloseWrite().ok());
  Packet p;
  ASSERT_TRUE(*b.Recv(&p));
  EXPECT_EQ(p.id(), 5u);
  Result<bool> end = b.Recv(&p);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
}

TEST(BatchingPacketStreamTest, DestroyingAStreamWithABlockedWriteReturns) {
  auto [ta, tb] = NewInMemoryBatchPipe(1);
  {
    BatchingPacketStream a(*ta);
    for (uint32_t i = 0; i < 3; i++) ASSERT_TRUE(a.Send(Data(i, "x")).ok());
  }  // nobody reads tb: the second write is blocked and must be cancelled
  SUCCEED();
}

}  // namespace
}  // namespace kiln::fsutil
