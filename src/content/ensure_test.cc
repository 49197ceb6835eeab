#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "content/store.h"
#include "content/testing/temp_store.h"

namespace kiln::content {
namespace {

using testing::TempStore;

const std::string kData = "layer bytes";

// A fetch function that counts its calls and, if given a gate, blocks until it opens.
Store::FetchFn Fetcher(std::atomic<int>* calls, std::shared_future<void> gate = {},
                       std::promise<void>* entered = nullptr, Status fail = Status::Ok()) {
  return [=](const Context& ctx, Writer& w) -> Status {
    calls->fetch_add(1);
    if (entered) entered->set_value();
    if (gate.valid()) gate.wait();
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (!fail.ok()) return fail;
    return w.Write(kData);
  };
}

TEST(EnsureTest, ExistingBlobIsNotFetched) {
  TempStore s;
  auto put = s->WriteBlob(Context::Background(), kData);
  ASSERT_TRUE(put.ok());
  std::atomic<int> calls = 0;
  auto info = s->Ensure(Context::Background(), put->digest, put->size, Fetcher(&calls));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, static_cast<int64_t>(kData.size()));
  EXPECT_EQ(calls, 0);
}

TEST(EnsureTest, ConcurrentCallersFetchOnce) {
  TempStore s;
  Digest d = Digest::FromBytes(kData);
  std::atomic<int> calls = 0;
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::promise<void> entered;
  std::vector<std::future<Result<Info>>> results;
  results.push_back(std::async(std::launch::async, [&] {
    return s->Ensure(Context::Background(), d, kData.size(), Fetcher(&calls, gate, &entered));
  }));
  entered.get_future().wait();  // the first caller is downloading
  for (int i = 0; i < 7; i++) {
    results.push_back(std::async(std::launch::async, [&] {
      return s->Ensure(Context::Background(), d, kData.size(), Fetcher(&calls));
    }));
  }
  open.set_value();
  for (auto& r : results) {
    auto info = r.get();
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->digest, d);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(*s->ReadAll(d, 100), kData);
}

TEST(EnsureTest, CancelledWaiterLeavesWithItsCause) {
  TempStore s;
  Digest d = Digest::FromBytes(kData);
  std::atomic<int> calls = 0;
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::promise<void> entered;
  auto first = std::async(std::launch::async, [&] {
    return s->Ensure(Context::Background(), d, kData.size(), Fetcher(&calls, gate, &entered));
  });
  entered.get_future().wait();
  Context waiter_ctx = Context::Background().Child();
  auto waiter = std::async(std::launch::async,
                           [&] { return s->Ensure(waiter_ctx, d, kData.size(), Fetcher(&calls)); });
  waiter_ctx.Cancel(Cancelled("client went away"));
  auto w = waiter.get();  // returns while the first download is still blocked
  EXPECT_EQ(w.status().code(), Code::kCancelled);
  EXPECT_EQ(w.status().message(), "client went away");
  open.set_value();
  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(calls, 1);
}

TEST(EnsureTest, WaiterRetriesWhenTheFirstFails) {
  TempStore s;
  Digest d = Digest::FromBytes(kData);
  std::atomic<int> first_calls = 0, second_calls = 0;
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::promise<void> entered;
  auto first = std::async(std::launch::async, [&] {
    return s->Ensure(Context::Background(), d, kData.size(),
                     Fetcher(&first_calls, gate, &entered, Unavailable("registry down")));
  });
  entered.get_future().wait();
  auto second = std::async(std::launch::async, [&] {
    return s->Ensure(Context::Background(), d, kData.size(), Fetcher(&second_calls));
  });
  open.set_value();
  EXPECT_EQ(first.get().status().code(), Code::kUnavailable);
  auto r = second.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(first_calls, 1);
  EXPECT_EQ(second_calls, 1);
  EXPECT_TRUE(s->Has(d));
}

TEST(EnsureTest, BadDownloadLeavesNothing) {
  TempStore s;
  Digest d = Digest::FromBytes("something else");
  std::atomic<int> calls = 0;
  auto r = s->Ensure(Context::Background(), d, -1, Fetcher(&calls));
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_FALSE(s->Has(d));
  EXPECT_TRUE(ReadDirNames(s->root() + "/ingest")->empty());
}

}  // namespace
}  // namespace kiln::content
