#include "util/context.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace kiln {
namespace {

TEST(ContextTest, CancelPropagatesToChildrenWithCause) {
  Context root = Context::Background();
  Context child = root.Child();
  Context grandchild = child.Child();
  EXPECT_FALSE(grandchild.cancelled());
  root.Cancel(Cancelled("client disconnected"));
  EXPECT_TRUE(grandchild.cancelled());
  EXPECT_EQ(grandchild.Err().message(), "client disconnected");
}

TEST(ContextTest, ChildCancelDoesNotCancelParent) {
  Context root = Context::Background();
  Context child = root.Child();
  child.Cancel(Status());
  EXPECT_TRUE(child.cancelled());
  EXPECT_FALSE(root.cancelled());
  EXPECT_EQ(child.Err().code(), Code::kCancelled);
}

TEST(ContextTest, FirstCauseWins) {
  Context c = Context::Background().Child();
  c.Cancel(Cancelled("first"));
  c.Cancel(Cancelled("second"));
  EXPECT_EQ(c.Err().message(), "first");
}

TEST(ContextTest, DeadlineCancelsWithDeadlineExceeded) {
  Context c = Context::Background().WithTimeout(std::chrono::milliseconds(20));
  Status s = c.Sleep(std::chrono::seconds(10));
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
}

TEST(ContextTest, OnCancelRunsOnceAndUnregisters) {
  Context c = Context::Background().Child();
  std::atomic<int> calls{0};
  {
    auto h = c.OnCancel([&](const Status&) { calls++; });
  }  // unregistered
  auto h2 = c.OnCancel([&](const Status&) { calls += 10; });
  c.Cancel(Cancelled("x"));
  c.Cancel(Cancelled("y"));
  EXPECT_EQ(calls.load(), 10);
  // Registering after cancel runs at once.
  auto h3 = c.OnCancel([&](const Status&) { calls += 100; });
  EXPECT_EQ(calls.load(), 110);
}

TEST(ContextTest, SleepWakesOnCancelFromAnotherThread) {
  Context c = Context::Background().Child();
  std::thread t([c] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c.Cancel(Cancelled("stop"));
  });
  Status s = c.Sleep(std::chrono::seconds(30));
  t.join();
  EXPECT_EQ(s.message(), "stop");
}

}  // namespace
}  // namespace kiln
