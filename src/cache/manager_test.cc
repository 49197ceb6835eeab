#include "cache/manager.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "util/fs_copy.h"

namespace kiln::cache {
namespace {

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-cache-XXXXXX";
    root_ = mkdtemp(tmpl);
    Reopen();
  }
  void TearDown() override {
    mgr_.reset();
    sn_.reset();
    RemoveAll(root_).IgnoreError();
  }
  void Reopen() {
    mgr_.reset();
    sn_ = std::move(*snapshot::NewNativeSnapshotter(root_ + "/snapshots"));
    auto m = Manager::Open(root_, sn_.get());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mgr_ = std::move(*m);
  }
  ImmutableRef MakeRef(const std::string& content, const ImmutableRef* parent = nullptr) {
    auto m = mgr_->New(Context::Background(), parent, "test");
    EXPECT_TRUE(m.ok());
    {
      auto mnt = m->Mount();
      std::ofstream((*mnt)->path() + "/file") << content;
    }
    auto r = m->Commit();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  std::string root_;
  std::unique_ptr<snapshot::Snapshotter> sn_;
  std::unique_ptr<Manager> mgr_;
};

TEST_F(ManagerTest, CommittedRefSurvivesRestart) {
  std::string id = MakeRef("hello").id();
  Reopen();
  auto r = mgr_->Get(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto m = r->Mount();
  std::ifstream in((*m)->path() + "/file");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "hello");
}

TEST_F(ManagerTest, UsesAreCountedAcrossBatchesAndRestarts) {
  std::string id = MakeRef("used").id();  // the handle is dropped: each Get below is a use
  auto record = [&]() -> RefRecord {
    auto du = mgr_->DiskUsage(Context::Background());
    EXPECT_TRUE(du.ok()) << du.status().ToString();
    for (const UsageInfo& u : *du) {
      if (u.rec.id == id) return u.rec;
    }
    ADD_FAILURE() << "ref " << id << " not listed";
    return RefRecord{};
  };
  RefRecord before = record();
  for (int i = 0; i < 300; i++) ASSERT_TRUE(mgr_->Get(id).ok());  // more than one batch
  RefRecord after = record();
  EXPECT_EQ(after.usage_count, before.usage_count + 300);
  EXPECT_GT(after.last_used, before.last_used);
  for (int i = 0; i < 5; i++) ASSERT_TRUE(mgr_->Get(id).ok());
  Reopen();  // the uses not written yet are written when the manager closes
  EXPECT_EQ(record().usage_count, before.usage_count + 305);
}

TEST_F(ManagerTest, UncommittedRefLeavesNothing) {
  {
    auto m = mgr_->New(Context::Background(), nullptr, "discarded");
    ASSERT_TRUE(m.ok());
  }
  auto snaps = sn_->List();
  EXPECT_TRUE(snaps->empty());
}

TEST_F(ManagerTest, PruneSkipsRefsInUseAndParents) {
  ImmutableRef held = MakeRef("a");
  std::string free_id;
  {
    ImmutableRef parent = MakeRef("p");
    ImmutableRef child = MakeRef("c", &parent);
    free_id = child.id();
  }
  auto removed = mgr_->Prune(Context::Background(), {}, nullptr);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 2u);  // child, then its parent
  EXPECT_TRUE(mgr_->Get(held.id()).ok());
  EXPECT_FALSE(mgr_->Get(free_id).ok());
  auto du = mgr_->DiskUsage(Context::Background());
  ASSERT_TRUE(du.ok());
  ASSERT_EQ(du->size(), 1u);
  EXPECT_TRUE((*du)[0].in_use);
}

TEST_F(ManagerTest, SizesAreMeasuredAtTheFirstDiskUsageAndKept) {
  std::string id = MakeRef(std::string(50000, 'x')).id();
  EXPECT_EQ(mgr_->Get(id)->record().size, -1);  // not measured at commit
  auto du = mgr_->DiskUsage(Context::Background());
  ASSERT_TRUE(du.ok()) << du.status().ToString();
  ASSERT_EQ(du->size(), 1u);
  EXPECT_GE((*du)[0].rec.size, 50000);
  Reopen();  // kept in the metadata
  auto again = mgr_->DiskUsage(Context::Background());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].rec.size, (*du)[0].rec.size);
}

TEST_F(ManagerTest, ChecksumIsCachedPerRef) {
  ImmutableRef r = MakeRef("x");
  auto a = mgr_->Checksum(Context::Background(), r, "/file", {});
  auto b = mgr_->Checksum(Context::Background(), r, "/file", {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, *b);
  ImmutableRef r2 = MakeRef("y");
  EXPECT_NE(*a, *mgr_->Checksum(Context::Background(), r2, "/file", {}));
}

TEST_F(ManagerTest, OrphanSnapshotRemovedAtOpen) {
  ASSERT_TRUE(sn_->Prepare(Context::Background(), "orphan", "").ok());
  Reopen();
  auto snaps = sn_->List();
  EXPECT_TRUE(snaps->empty());
}

TEST_F(ManagerTest, BlobRecordsSurviveRestartAndGoWithPrune) {
  std::string id;
  {
    ImmutableRef r = MakeRef("layer");
    id = r.id();
    BlobRecord b{"gzip",
                 "application/vnd.oci.image.layer.v1.tar+gzip",
                 "sha256:aa",
                 10,
                 "sha256:bb",
                 20,
                 "docker.io/library/busybox"};
    ASSERT_TRUE(mgr_->SetBlob(id, b).ok());
    b.variant = "zstd";
    b.digest = "sha256:cc";
    ASSERT_TRUE(mgr_->SetBlob(id, b).ok());
    b.digest = "sha256:dd";  // replaces the zstd row
    ASSERT_TRUE(mgr_->SetBlob(id, b).ok());
    EXPECT_FALSE(mgr_->SetBlob("no-such-ref", b).ok());
    EXPECT_FALSE(mgr_->SetBlob(id, BlobRecord{}).ok());
  }
  Reopen();
  auto blobs = mgr_->Blobs(id);
  ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
  ASSERT_EQ(blobs->size(), 2u);
  EXPECT_EQ((*blobs)[0].variant, "gzip");
  EXPECT_EQ((*blobs)[0].size, 10);
  EXPECT_EQ((*blobs)[0].uncompressed_size, 20);
  EXPECT_EQ((*blobs)[1].digest, "sha256:dd");
  EXPECT_EQ((*blobs)[1].source, "docker.io/library/busybox");
  ASSERT_TRUE(mgr_->Prune(Context::Background(), {}, nullptr).ok());
  blobs = mgr_->Blobs(id);
  ASSERT_TRUE(blobs.ok());
  EXPECT_TRUE(blobs->empty());
}

TEST_F(ManagerTest, RefValuesAreFoundBySearchTermAndGoWithPrune) {
  std::string a, b;
  {
    ImmutableRef ra = MakeRef("a");
    ImmutableRef rb = MakeRef("b");
    a = ra.id();
    b = rb.id();
    ASSERT_TRUE(mgr_->SetValue(a, "http", "first", "url1").ok());
    ASSERT_TRUE(mgr_->SetValue(a, "http", "replaced", "url1").ok());
    ASSERT_TRUE(mgr_->SetValue(b, "http", "second", "url1").ok());
    ASSERT_TRUE(mgr_->SetValue(b, "note", "unindexed").ok());
    EXPECT_FALSE(mgr_->SetValue("no-such-ref", "http", "x", "url1").ok());
  }
  Reopen();
  auto found = mgr_->SearchValues("url1");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].ref_id, a);
  EXPECT_EQ((*found)[0].value, "replaced");
  EXPECT_EQ((*found)[1].ref_id, b);
  EXPECT_EQ((*found)[1].key, "http");
  EXPECT_TRUE(mgr_->SearchValues("url2")->empty());
  ASSERT_TRUE(mgr_->Prune(Context::Background(), {}, nullptr).ok());
  EXPECT_TRUE(mgr_->SearchValues("url1")->empty());
}

}  // namespace
}  // namespace kiln::cache
