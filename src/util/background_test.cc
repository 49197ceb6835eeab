#include "util/background.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

namespace kiln {
namespace {

TEST(BackgroundTest, WaitReturnsTheResultAndCanBeCalledAgain) {
  Background<int> b(Context::Background(), [](const Context&) -> Result<int> { return 42; });
  ASSERT_TRUE(b.Wait().ok());
  EXPECT_EQ(*b.Wait(), 42);
}

TEST(BackgroundTest, AnErrorIsTheResult) {
  Background<int> b(Context::Background(),
                    [](const Context&) -> Result<int> { return NotFound("gone"); });
  EXPECT_EQ(b.Wait().status().code(), Code::kNotFound);
}

TEST(BackgroundTest, DestructionWaitsForTheWork) {
  std::atomic<bool> done{false};
  {
    Background<int> b(Context::Background(), [&](const Context&) -> Result<int> {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done = true;
      return 1;
    });
  }
  EXPECT_TRUE(done);
}

TEST(BackgroundTest, TheWorkSeesTheCallersCancellation) {
  Context parent = Context::Background().Child();
  Background<int> b(parent, [](const Context& c) -> Result<int> {
    while (!c.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return c.Err();
  });
  parent.Cancel(Cancelled("stop"));
  EXPECT_EQ(b.Wait().status().code(), Code::kCancelled);
}

}  // namespace
}  // namespace kiln
