// Layer apply: the diff ID (sha256 of the whole uncompressed stream) computed in the same pass,
// and the check against the diff ID an image config expects.

#include <gtest/gtest.h>

#include <random>

#include "snapshot/apply.h"
#include "snapshot/testing/layer_builder.h"
#include "snapshot/testing/temp_dir.h"

namespace kiln::snapshot {
namespace {

using testing::Compress;
using testing::Compression;
using testing::LayerBuilder;
using testing::ReadFile;
using testing::StringSource;
using testing::TempDir;

constexpr Compression kAll[] = {Compression::kNone, Compression::kGzip, Compression::kZstd};

Result<ApplyStats> Apply(const std::string& blob, const std::string& dest,
                         const Digest& expected = Digest()) {
  ApplyOptions opts;
  opts.expected_diff_id = expected;
  return ApplyLayer(Context::Background(), StringSource(blob, 1000), dest, opts);
}

// A tar followed by bytes after its end-of-archive blocks: record padding and anything else a
// writer left there, which the diff ID covers (Docker's and containerd's do).
std::string TarWithTrailer() {
  return LayerBuilder().File("a", "1").File("big", std::string(300000, 'x')).Build() +
         std::string(8192, '\0') + "bytes after the end of the archive";
}

TEST(ApplyDiffIdTest, TheDiffIdCoversTheWholeUncompressedStream) {
  const std::string stream = TarWithTrailer();
  const Digest want = Digest::FromBytes(stream);
  for (Compression c : kAll) {
    TempDir d;
    auto r = Apply(Compress(stream, c), d.path());
    ASSERT_TRUE(r.ok()) << static_cast<int>(c) << ": " << r.status().ToString();
    EXPECT_EQ(r->diff_id, want) << static_cast<int>(c);
    EXPECT_EQ(ReadFile(d.Sub("a")), "1");
  }
}

TEST(ApplyDiffIdTest, WellKnownDiffIdsOfEmptyLayers) {
  TempDir d;
  // An empty tar (two zero blocks, as Go's archive/tar writes it; LayerBuilder too) has the
  // well-known empty-layer diff ID; an empty blob has the digest of nothing.
  for (Compression c : kAll) {
    auto r = Apply(LayerBuilder().Build(c), d.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->diff_id.str(),
              "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
  }
  auto r = Apply("", d.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->diff_id.str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ApplyDiffIdTest, TheExpectedDiffIdPassesAndAnyOtherFails) {
  const std::string stream = TarWithTrailer();
  const Digest right = Digest::FromBytes(stream);
  // What a reader that stops at the tar's end would compute: wrong, the trailer counts.
  const Digest tar_only = Digest::FromBytes(stream.substr(0, stream.find("bytes after") - 8192));
  for (Compression c : kAll) {
    std::string blob = Compress(stream, c);
    TempDir ok;
    auto r = Apply(blob, ok.path(), right);
    ASSERT_TRUE(r.ok()) << static_cast<int>(c) << ": " << r.status().ToString();
    EXPECT_EQ(r->diff_id, right);

    for (const Digest& wrong : {tar_only, Digest::FromBytes("another layer")}) {
      TempDir bad;
      r = Apply(blob, bad.path(), wrong);
      ASSERT_FALSE(r.ok()) << static_cast<int>(c);
      EXPECT_EQ(r.status().code(), Code::kDataLoss);
      EXPECT_EQ(r.status().message(), "wrong diff ID: the image config says " + wrong.str() +
                                          ", the layer's content is " + right.str());
    }
  }
}

TEST(ApplyDiffIdTest, ACorruptStreamAfterTheTarsEndIsDataLoss) {
  // The tar ends early; the gzip/zstd stream carrying the trailer is cut short, which only
  // reading to the end of the stream notices.
  std::mt19937 rng(7);
  std::string noise(200000, '\0');
  for (char& ch : noise) ch = static_cast<char>(rng());
  std::string stream = LayerBuilder().File("a", "1").Build() + noise;
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    std::string blob = Compress(stream, c);
    blob.resize(blob.size() - 100);
    TempDir d;
    auto r = Apply(blob, d.path());
    ASSERT_FALSE(r.ok()) << static_cast<int>(c);
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
    EXPECT_NE(r.status().message().find("layer stream is corrupt or truncated after the end of "
                                        "the tar archive"),
              std::string::npos)
        << r.status().ToString();
  }
}

TEST(ApplyDiffIdTest, ApplyToASnapshotChecksTheExpectedDiffId) {
  TempDir root;
  auto sn = NewNativeSnapshotter(root.path());
  ASSERT_TRUE(sn.ok()) << sn.status().ToString();
  Context ctx = Context::Background();
  std::string tar = LayerBuilder().File("a", "1").Build();
  ASSERT_TRUE((*sn)->Prepare(ctx, "good", "").ok());
  auto r = ApplyLayerToSnapshot(ctx, **sn, "good", StringSource(Compress(tar, Compression::kGzip)),
                                Digest::FromBytes(tar));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE((*sn)->Prepare(ctx, "bad", "").ok());
  r = ApplyLayerToSnapshot(ctx, **sn, "bad", StringSource(Compress(tar, Compression::kGzip)),
                           Digest::FromBytes("not this layer"));
  EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
  EXPECT_NE(r.status().message().find("wrong diff ID"), std::string::npos);
}

}  // namespace
}  // namespace kiln::snapshot
