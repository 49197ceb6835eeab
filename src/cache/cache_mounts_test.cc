#include "cache/cache_mounts.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "util/fs_copy.h"

namespace kiln::cache {
namespace {

class CacheMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-cachemounts-XXXXXX";
    root_ = mkdtemp(tmpl);
    Reopen();
  }
  void TearDown() override {
    mounts_.reset();
    mgr_.reset();
    sn_.reset();
    RemoveAll(root_).IgnoreError();
  }
  void Reopen(std::function<void(const char*)> hook = {}) {
    mounts_.reset();
    mgr_.reset();
    sn_ = std::move(*snapshot::NewNativeSnapshotter(root_ + "/snapshots"));
    auto m = Manager::Open(root_, sn_.get());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mgr_ = std::move(*m);
    mounts_ = std::make_unique<CacheMounts>(mgr_.get(), std::move(hook));
  }
  std::unique_ptr<CacheMount> Get(const std::string& id, Sharing s, const ImmutableRef* base = nullptr,
                                  const Context& ctx = Context::Background()) {
    auto m = mounts_->Acquire(ctx, id, s, base);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }
  std::string root_;
  std::unique_ptr<snapshot::Snapshotter> sn_;
  std::unique_ptr<Manager> mgr_;
  std::unique_ptr<CacheMounts> mounts_;
};

TEST_F(CacheMountsTest, ContentIsKeptAcrossUsesAndRestarts) {
  {
    auto m = Get("go-build", Sharing::kLocked);
    std::ofstream(m->path() + "/obj") << "compiled";
  }
  Reopen();
  auto m = Get("go-build", Sharing::kLocked);
  EXPECT_TRUE(std::filesystem::exists(m->path() + "/obj"));
  auto other = Get("other-id", Sharing::kLocked);
  EXPECT_FALSE(std::filesystem::exists(other->path() + "/obj"));
}

TEST_F(CacheMountsTest, SharedUsersSeeOneDirectory) {
  auto a = Get("id", Sharing::kShared);
  auto b = Get("id", Sharing::kShared);
  EXPECT_EQ(a->path(), b->path());
  EXPECT_EQ(a->ref_id(), b->ref_id());
}

TEST_F(CacheMountsTest, PrivateUsersNeverShareWhileBothHold) {
  auto a = Get("id", Sharing::kPrivate);
  auto b = Get("id", Sharing::kPrivate);
  EXPECT_NE(a->ref_id(), b->ref_id());
  std::string first = a->ref_id();
  a.reset();
  auto c = Get("id", Sharing::kPrivate);  // a free one is reused
  EXPECT_EQ(c->ref_id(), first);
}

TEST_F(CacheMountsTest, LockedWaitsForTheHolderAndCanBeCancelled) {
  auto a = Get("id", Sharing::kLocked);
  std::atomic<bool> got{false};
  auto waiter = std::async(std::launch::async, [&] {
    auto m = Get("id", Sharing::kLocked);
    got = true;
    return m ? m->ref_id() : std::string();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(got.load());
  std::string id = a->ref_id();
  a.reset();
  EXPECT_EQ(waiter.get(), id);

  auto holder = Get("id", Sharing::kLocked);
  Context ctx = Context::Background().Child();
  auto cancelled = std::async(std::launch::async, [&] { return mounts_->Acquire(ctx, "id", Sharing::kLocked, nullptr); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ctx.Cancel(Cancelled("build cancelled"));
  auto r = cancelled.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled);
}

TEST_F(CacheMountsTest, ADifferentBaseIsADifferentCache) {
  auto base = mgr_->New(Context::Background(), nullptr, "base");
  ASSERT_TRUE(base.ok());
  {
    auto mnt = base->Mount();
    std::ofstream((*mnt)->path() + "/seed") << "seed";
  }
  auto committed = base->Commit();
  ASSERT_TRUE(committed.ok());
  auto with = Get("id", Sharing::kShared, &*committed);
  auto without = Get("id", Sharing::kShared);
  EXPECT_NE(with->ref_id(), without->ref_id());
  EXPECT_TRUE(std::filesystem::exists(with->path() + "/seed"));
  EXPECT_FALSE(std::filesystem::exists(without->path() + "/seed"));
}

TEST_F(CacheMountsTest, DiskUsageMeasuresCacheMountsAsTheyAreNow) {
  {
    auto m = Get("du", Sharing::kLocked);
    std::ofstream(m->path() + "/blob") << std::string(100000, 'x');
  }
  auto du = mgr_->DiskUsage(Context::Background());
  ASSERT_TRUE(du.ok()) << du.status().ToString();
  ASSERT_EQ(du->size(), 1u);
  EXPECT_TRUE((*du)[0].mutable_);
  EXPECT_GE((*du)[0].rec.size, 100000);
}

TEST_F(CacheMountsTest, PruneSkipsHeldMountsAndRemovesFreeOnes) {
  auto held = Get("held", Sharing::kShared);
  { auto m = Get("free", Sharing::kPrivate); }
  PruneOptions all;
  all.all = true;
  auto removed = mgr_->Prune(Context::Background(), all, nullptr);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].rec.cache_key, "cache-dir:free");
  EXPECT_TRUE((*removed)[0].mutable_);
  EXPECT_TRUE(std::filesystem::exists(held->path()));
}

// The shape of BuildKit's shared-cache-refs deadlock: many users of one id in every mode, with
// delays injected at every acquire and release point (some under the lock). Every user must
// finish; a hang fails the test through the watchdog instead of blocking the suite.
TEST_F(CacheMountsTest, MixedModesWithInjectedDelaysNeverDeadlock) {
  Reopen([](const char*) {
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
  });
  constexpr int kUsers = 24;
  std::atomic<int> done{0};
  std::atomic<bool> locked_overlap{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kUsers; i++) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 5; round++) {
        Sharing s = static_cast<Sharing>((i + round) % 3);
        auto m = mounts_->Acquire(Context::Background(), "stress", s, nullptr);
        if (!m.ok()) {
          ADD_FAILURE() << m.status().ToString();
          continue;
        }
        if (s == Sharing::kLocked) {
          // Locked users of one directory never overlap.
          static std::mutex mu;
          static std::map<std::string, int> holders;
          {
            std::lock_guard<std::mutex> l(mu);
            if (++holders[(*m)->ref_id()] > 1) locked_overlap = true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          std::lock_guard<std::mutex> l(mu);
          holders[(*m)->ref_id()]--;
        }
      }
      done++;
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (done.load() < kUsers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done.load() < kUsers) {
    ADD_FAILURE() << "deadlock: only " << done.load() << " of " << kUsers << " users finished";
    std::_Exit(1);  // the stuck threads cannot be joined
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(locked_overlap.load());
}

}  // namespace
}  // namespace kiln::cache
