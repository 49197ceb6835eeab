#include "content/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "content/testing/temp_store.h"
#include "util/fs_copy.h"

namespace kiln::content {
namespace {

using ::testing::HasSubstr;
using testing::TempStore;

std::vector<std::string> Ingests(TempStore& s) { return *ReadDirNames(s->root() + "/ingest"); }

TEST(StoreTest, CommitMakesBlobAppearAtomically) {
  TempStore s;
  Digest d = Digest::FromBytes("hello world");
  auto w = s->NewWriter(Context::Background(), d, 11);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(w->Write("hello ").ok());
  ASSERT_TRUE(w->Write("world").ok());
  EXPECT_FALSE(s->Has(d));  // nothing visible before Commit
  EXPECT_EQ(Ingests(s).size(), 1u);
  auto info = w->Commit();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, d);
  EXPECT_EQ(info->size, 11);
  EXPECT_TRUE(s->Has(d));
  EXPECT_TRUE(Ingests(s).empty());
  EXPECT_EQ(s->Path(d), s->root() + "/blobs/sha256/" + std::string(d.hex()));
  EXPECT_EQ(*s->ReadAll(d, 100), "hello world");
  EXPECT_EQ(s->Stat(d)->size, 11);
}

TEST(StoreTest, UnknownDigestAndSizeAreComputed) {
  TempStore s;
  auto w = s->NewWriter(Context::Background(), Digest(), -1);
  ASSERT_TRUE(w->Write("abc").ok());
  auto info = w->Commit();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->digest, Digest::FromBytes("abc"));
  EXPECT_EQ(info->size, 3);
}

TEST(StoreTest, DigestMismatchNamesBothAndLeavesNothing) {
  TempStore s;
  Digest want = Digest::FromBytes("expected");
  auto w = s->NewWriter(Context::Background(), want, 6);
  ASSERT_TRUE(w->Write("actual").ok());
  auto info = w->Commit();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kDataLoss);
  EXPECT_THAT(info.status().message(), HasSubstr(want.str()));
  EXPECT_THAT(info.status().message(), HasSubstr(Digest::FromBytes("actual").str()));
  EXPECT_FALSE(s->Has(want));
  EXPECT_FALSE(s->Has(Digest::FromBytes("actual")));
  EXPECT_TRUE(Ingests(s).empty());
  EXPECT_TRUE(ReadDirNames(s->root() + "/blobs/sha256")->empty());
}

TEST(StoreTest, ShortBlobIsSizeMismatch) {
  TempStore s;
  auto w = s->NewWriter(Context::Background(), Digest::FromBytes("abc"), 4);
  ASSERT_TRUE(w->Write("abc").ok());
  auto info = w->Commit();
  EXPECT_EQ(info.status().code(), Code::kDataLoss);
  EXPECT_THAT(info.status().message(), HasSubstr("expected 4 bytes, got 3"));
  EXPECT_TRUE(Ingests(s).empty());
}

TEST(StoreTest, LongBlobFailsAsSoonAsItExceedsTheSize) {
  TempStore s;
  auto w = s->NewWriter(Context::Background(), Digest::FromBytes("abcd"), 3);
  ASSERT_TRUE(w->Write("ab").ok());
  Status st = w->Write("cd");
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("size mismatch"));
}

TEST(StoreTest, WriterDroppedWithoutCommitRemovesItsTempFile) {
  TempStore s;
  {
    auto w = s->NewWriter(Context::Background(), Digest(), -1);
    ASSERT_TRUE(w->Write("partial").ok());
    Writer moved = std::move(*w);  // the moved-to writer owns the file now
    EXPECT_EQ(Ingests(s).size(), 1u);
  }
  EXPECT_TRUE(Ingests(s).empty());
}

TEST(StoreTest, CancelledWriterRefusesToWrite) {
  TempStore s;
  Context ctx = Context::Background().Child();
  auto w = s->NewWriter(ctx, Digest(), -1);
  ctx.Cancel(Cancelled("build cancelled"));
  Status st = w->Write("x");
  EXPECT_EQ(st.code(), Code::kCancelled);
  EXPECT_EQ(st.message(), "build cancelled");
}

TEST(StoreTest, TruncateStartsOver) {
  TempStore s;
  auto w = s->NewWriter(Context::Background(), Digest::FromBytes("good"), 4);
  ASSERT_TRUE(w->Write("ba").ok());
  ASSERT_TRUE(w->Truncate().ok());
  ASSERT_TRUE(w->Write("good").ok());
  EXPECT_TRUE(w->Commit().ok());
}

TEST(StoreTest, LeftoverIngestsAreRemovedAtReopen) {
  TempStore s;
  auto w = s->NewWriter(Context::Background(), Digest(), -1);
  ASSERT_TRUE(w->Write("interrupted").ok());
  std::ofstream(s->root() + "/ingest/crashed") << "left by a dead process";
  ASSERT_EQ(Ingests(s).size(), 2u);
  ASSERT_TRUE(s->WriteBlob(Context::Background(), "kept").ok());
  // Simulate a crash: the writer's file stays behind while the store is reopened.
  Writer leaked = std::move(*w);
  s.Reopen();
  EXPECT_TRUE(Ingests(s).empty());
  EXPECT_TRUE(s->Has(Digest::FromBytes("kept")));
}

TEST(StoreTest, ReaderReadsInChunks) {
  TempStore s;
  std::string data(10000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>('a' + i % 26);
  auto info = s->WriteBlob(Context::Background(), data);
  ASSERT_TRUE(info.ok());
  auto r = s->OpenBlob(info->digest);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 10000);
  std::string got;
  char buf[3000];
  for (;;) {
    auto n = r->Read(buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, data);
  auto n = r->ReadAt(26, buf, 3);
  EXPECT_EQ(std::string(buf, *n), "abc");
}

TEST(StoreTest, MissingBlobIsNotFoundNamingTheDigest) {
  TempStore s;
  Digest d = Digest::FromBytes("nope");
  EXPECT_EQ(s->Stat(d).status().code(), Code::kNotFound);
  auto r = s->OpenBlob(d);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr(d.str()));
}

TEST(StoreTest, ReadAllRefusesLargeBlobs) {
  TempStore s;
  auto info = s->WriteBlob(Context::Background(), std::string(100, 'a'));
  auto r = s->ReadAll(info->digest, 10);
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
}

}  // namespace
}  // namespace kiln::content
