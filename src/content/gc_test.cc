#include <gtest/gtest.h>

#include "content/store.h"
#include "content/testing/temp_store.h"

namespace kiln::content {
namespace {

using testing::TempStore;

Digest Put(TempStore& s, const std::string& data) {
  auto r = s->WriteBlob(Context::Background(), data);
  KILN_CHECK(r.ok());
  return r->digest;
}

TEST(GCTest, KeepsLeasedAndRootedBlobsAndRemovesOthers) {
  TempStore s;
  Digest leased = Put(s, "leased");
  Digest rooted = Put(s, "rooted");
  Digest loose = Put(s, "loose!");
  Lease lease = s->NewLease("pull");
  lease.Add(leased);
  ASSERT_TRUE(s->AddRoot("image/busybox", {rooted}).ok());
  auto st = s->GC(Context::Background());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->blobs_removed, 1);
  EXPECT_EQ(st->bytes_removed, 6);
  EXPECT_TRUE(s->Has(leased));
  EXPECT_TRUE(s->Has(rooted));
  EXPECT_FALSE(s->Has(loose));

  lease.Release();
  st = s->GC(Context::Background());
  EXPECT_EQ(st->blobs_removed, 1);
  EXPECT_FALSE(s->Has(leased));
  EXPECT_TRUE(s->Has(rooted));
}

TEST(GCTest, LeaseDroppedWithItsHandle) {
  TempStore s;
  Digest d = Put(s, "temporary");
  {
    Lease lease = s->NewLease("export");
    lease.Add(d);
    Lease moved = std::move(lease);
    EXPECT_EQ(s->GC(Context::Background())->blobs_removed, 0);
  }
  EXPECT_EQ(s->GC(Context::Background())->blobs_removed, 1);
}

TEST(GCTest, CommitWithLeaseIsProtected) {
  TempStore s;
  Lease lease = s->NewLease("pull");
  auto info = s->WriteBlob(Context::Background(), "fresh", Digest(), &lease);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(s->GC(Context::Background())->blobs_removed, 0);
  EXPECT_TRUE(s->Has(info->digest));
}

TEST(GCTest, RootsPersistAcrossReopenAndCanBeRemoved) {
  TempStore s;
  Digest a = Put(s, "a"), b = Put(s, "b");
  ASSERT_TRUE(s->AddRoot("one", {a, b}).ok());
  ASSERT_TRUE(s->AddRoot("two", {b}).ok());
  s.Reopen();
  auto roots = s->Roots();
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots["one"], (std::vector<Digest>{a, b}));
  EXPECT_EQ(s->GC(Context::Background())->blobs_removed, 0);

  ASSERT_TRUE(s->RemoveRoot("one").ok());
  s.Reopen();
  EXPECT_EQ(s->Roots().size(), 1u);
  EXPECT_EQ(s->GC(Context::Background())->blobs_removed, 1);
  EXPECT_FALSE(s->Has(a));
  EXPECT_TRUE(s->Has(b));
}

TEST(GCTest, LeasesDoNotSurviveReopen) {
  TempStore s;
  Digest d = Put(s, "leased by a dead process");
  Lease lease = s->NewLease("old");
  lease.Add(d);
  lease = Lease();  // release before the store goes away
  s.Reopen();
  EXPECT_EQ(s->GC(Context::Background())->blobs_removed, 1);
}

}  // namespace
}  // namespace kiln::content
