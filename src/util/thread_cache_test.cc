#include "util/thread_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace kiln {
namespace {

// Waits until pred holds or about 10 s pass.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 1000; i++) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(ThreadCacheTest, ReusesAFinishedThread) {
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> done{0};
  for (int i = 0; i < 20; i++) {
    RunOnThread([&] {
      std::lock_guard<std::mutex> l(mu);
      ids.insert(std::this_thread::get_id());
      done++;
    });
    // Each one ends before the next starts: one thread serves them all, or a few if the
    // finished one has not reached its wait yet.
    ASSERT_TRUE(Eventually([&] { return done == i + 1 && IdleCachedThreads() > 0; }));
  }
  EXPECT_LT(ids.size(), 5u);
}

TEST(ThreadCacheTest, FunctionsThatWaitOnEachOtherAllRunAtOnce) {
  // More than kThreadCacheMaxIdle functions, each waiting until all have started: a bounded
  // pool would deadlock here.
  constexpr int kN = kThreadCacheMaxIdle * 2;
  std::mutex mu;
  std::condition_variable cv;
  int started = 0, finished = 0;
  for (int i = 0; i < kN; i++) {
    RunOnThread([&] {
      std::unique_lock<std::mutex> l(mu);
      started++;
      cv.notify_all();
      cv.wait(l, [&] { return started == kN; });
      finished++;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return finished == kN; }));
  l.unlock();
  // At most kThreadCacheMaxIdle stay, and those end after the idle timeout.
  EXPECT_TRUE(Eventually([] { return IdleCachedThreads() <= kThreadCacheMaxIdle; }));
  EXPECT_TRUE(Eventually([] { return IdleCachedThreads() == 0; }));
}

TEST(CachedThreadTest, JoinWaitsForTheFunctionAndReleasesWhatItHeld) {
  auto held = std::make_shared<int>(1);
  std::weak_ptr<int> seen = held;
  std::atomic<bool> ran{false};
  CachedThread t([&ran, h = std::move(held)] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ran = true;
  });
  EXPECT_TRUE(t.joinable());
  t.join();
  EXPECT_FALSE(t.joinable());
  EXPECT_TRUE(ran);
  EXPECT_TRUE(seen.expired());  // the function and its captures are gone once join returns
}

TEST(CachedThreadTest, DestructorAndMoveAssignmentJoin) {
  std::atomic<int> done{0};
  {
    CachedThread a([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      done++;
    });
    a = CachedThread([&] { done++; });  // joins the first function before taking the second
    EXPECT_EQ(done.load() >= 1, true);
    CachedThread b(std::move(a));
    EXPECT_FALSE(a.joinable());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_TRUE(b.joinable());
  }
  EXPECT_EQ(done, 2);
}

TEST(CachedThreadTest, ThreadsAreReused) {
  std::set<std::thread::id> ids;
  for (int i = 0; i < 10; i++) {
    std::thread::id id;
    CachedThread t([&id] { id = std::this_thread::get_id(); });
    t.join();
    ids.insert(id);
    ASSERT_TRUE(Eventually([] { return IdleCachedThreads() > 0; }));
  }
  EXPECT_LT(ids.size(), 5u);
}

}  // namespace
}  // namespace kiln
