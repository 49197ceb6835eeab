// ExportLayer end to end: blobs in the content store whose digest, size and diff ID are those of
// their bytes (checked with sha256sum, gzip and zstd), that apply back to the snapshot, that
// umoci unpacks as an OCI image, the same for any thread count; media types by option; failures
// leave no blob. Runs on the native snapshotter, and on overlayfs where it can mount.

#include "layer/layer_export.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "content/testing/temp_store.h"
#include "layer/testing/layer_testing.h"
#include "snapshot/apply.h"
#include "snapshot/overlay.h"
#include "snapshot/testing/temp_dir.h"
#include "util/fs_copy.h"

namespace kiln::layer {
namespace {

using snapshot::testing::MakeDirs;
using snapshot::testing::ReadFile;
using snapshot::testing::TempDir;
using snapshot::testing::WriteFile;
using testing::DescribeTree;
using testing::EntryList;
using testing::RunCommand;
using testing::Sha256sum;
using Strings = std::vector<std::string>;

class LayerExportTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0) {
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
    }
  }

  void SetUp() override {
    Result<std::unique_ptr<snapshot::Snapshotter>> s = Unimplemented("no snapshotter");
    if (GetParam() == "overlayfs") {
      if (geteuid() != 0) GTEST_SKIP() << "overlayfs needs root";
      auto check = snapshot::CheckOverlaySupport(tmp_.Sub("sn"));
      if (!check.ok()) GTEST_SKIP() << check.status().message();
      s = snapshot::NewOverlaySnapshotter(tmp_.Sub("sn"));
    } else {
      s = snapshot::NewNativeSnapshotter(tmp_.Sub("sn"));
    }
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sn_ = std::move(*s);
    // base: a few files; child: one changed, one deleted, one added in a new directory.
    Layer("base", "", [](const std::string& p) {
      WriteFile(p + "/hello", "hello from base\n");
      WriteFile(p + "/gone", "to be deleted");
      MakeDirs(p + "/etc");
      WriteFile(p + "/etc/conf", "v1");
      WriteFile(p + "/big", testing::MixedData(3 * 1024 * 1024, 9));
    });
    Layer("child", "base", [](const std::string& p) {
      WriteFile(p + "/etc/conf", "v2 longer");
      ASSERT_EQ(unlink((p + "/gone").c_str()), 0);
      MakeDirs(p + "/opt/app");
      WriteFile(p + "/opt/app/run", "#!/bin/sh\necho hi\n", 0755);
    });
  }

  template <typename F>
  void Layer(const std::string& key, const std::string& parent, F fill) {
    ASSERT_TRUE(sn_->Prepare(ctx_, key, parent).ok());
    {
      auto m = sn_->MountSnapshot(key, false);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      fill((*m)->path());
    }
    ASSERT_TRUE(sn_->Commit(key).ok());
  }

  LayerDescriptor Export(const std::string& key, const std::string& parent,
                         const LayerOptions& opts) {
    auto d = ExportLayer(ctx_, *sn_, key, parent, *store_, opts);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : LayerDescriptor{};
  }

  // The blob applied onto a copy of parent's tree describes as key's tree.
  void ExpectApplyGives(const LayerDescriptor& d, const std::string& key,
                        const std::string& parent) {
    std::string applied = tmp_.Sub("applied");
    ASSERT_TRUE(RemoveAll(applied).ok());
    MakeDirs(applied);
    if (!parent.empty()) {
      auto p = sn_->MountSnapshot(parent, true);
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE(RemoveAll(applied).ok());
      ASSERT_TRUE(CopyTree(ctx_, (*p)->path(), applied, {}).ok());
    }
    snapshot::ApplyOptions ao;
    ao.expected_diff_id = d.diff_id;
    auto r = snapshot::ApplyLayerFile(ctx_, store_->Path(d.digest), applied, ao);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto m = sn_->MountSnapshot(key, true);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(DescribeTree(applied), DescribeTree((*m)->path()));
  }

  Context ctx_ = Context::Background();
  TempDir tmp_;
  content::testing::TempStore store_;
  std::unique_ptr<snapshot::Snapshotter> sn_;
};

TEST_P(LayerExportTest, BlobsHaveTheDigestSizeAndDiffIdOfTheirBytesAndApplyBack) {
  struct Case {
    Compression c;
    bool oci;
    std::string media_type;
    std::string decompress;
  };
  std::vector<Case> cases = {
      {Compression::kGzip, false, "application/vnd.docker.image.rootfs.diff.tar.gzip", "gzip -dc"},
      {Compression::kGzip, true, "application/vnd.oci.image.layer.v1.tar+gzip", "gzip -dc"},
      {Compression::kZstd, true, "application/vnd.oci.image.layer.v1.tar+zstd", "zstd -dc"},
      {Compression::kZstd, false, "application/vnd.docker.image.rootfs.diff.tar.zstd", "zstd -dc"},
      {Compression::kUncompressed, true, "application/vnd.oci.image.layer.v1.tar", "cat"},
      {Compression::kUncompressed, false, "application/vnd.docker.image.rootfs.diff.tar", "cat"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(CompressionName(c.c)) + (c.oci ? " oci" : " docker"));
    LayerOptions opts;
    opts.compression = c.c;
    opts.oci_mediatypes = c.oci;
    opts.threads = 2;
    LayerDescriptor d = Export("child", "base", opts);
    EXPECT_EQ(d.media_type, c.media_type);
    std::string blob = store_->Path(d.digest);
    EXPECT_EQ(Sha256sum(blob), d.digest.str());
    EXPECT_EQ(static_cast<int64_t>(ReadFile(blob).size()), d.size);
    std::string tar = tmp_.Sub("layer.tar");
    ASSERT_EQ(RunCommand(c.decompress + " < '" + blob + "' > '" + tar + "'").exit_code, 0);
    EXPECT_EQ(Sha256sum(tar), d.diff_id.str());
    EXPECT_EQ(static_cast<int64_t>(ReadFile(tar).size()), d.uncompressed_size);
    if (c.c == Compression::kGzip) {
      EXPECT_EQ(RunCommand("gzip -t '" + blob + "'").exit_code, 0);
    }
    if (c.c == Compression::kUncompressed) {
      EXPECT_EQ(d.digest, d.diff_id);
    }
    EXPECT_EQ(EntryList(ReadFile(tar)), (Strings{"etc/ d", "etc/conf f", ".wh.gone f", "opt/ d",
                                                 "opt/app/ d", "opt/app/run f"}));
    EXPECT_EQ(d.diff.overlay, GetParam() == "overlayfs");
    ExpectApplyGives(d, "child", "base");
  }
}

TEST_P(LayerExportTest, OneAndFourThreadsGiveTheSameBlob) {
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    LayerOptions opts;
    opts.compression = c;
    opts.threads = 1;
    Digest one = Export("base", "", opts).digest;
    opts.threads = 4;
    EXPECT_EQ(Export("base", "", opts).digest, one) << CompressionName(c);
  }
}

TEST_P(LayerExportTest, UmociUnpacksAnImageMadeOfTheGzipLayers) {
  if (!testing::HaveTool("umoci")) GTEST_SKIP() << "umoci is not installed";
  if (geteuid() != 0) GTEST_SKIP() << "umoci unpack keeps ownership only as root";
  LayerOptions opts;
  opts.oci_mediatypes = true;
  opts.threads = 2;
  LayerDescriptor l1 = Export("base", "", opts);
  LayerDescriptor l2 = Export("child", "base", opts);
  std::string layout = tmp_.Sub("layout");
  MakeDirs(layout + "/blobs/sha256");
  auto put = [&](const std::string& bytes) {
    Digest d = Digest::FromBytes(bytes);
    testing::WriteBytes(layout + "/blobs/sha256/" + std::string(d.hex()), bytes);
    return nlohmann::json{{"digest", d.str()}, {"size", bytes.size()}};
  };
  nlohmann::json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", nlohmann::json::object()},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {l1.diff_id.str(), l2.diff_id.str()}}}}};
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"layers", nlohmann::json::array()}};
  manifest["config"] = put(config.dump());
  manifest["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json";
  for (const LayerDescriptor& l : {l1, l2}) {
    nlohmann::json desc = put(ReadFile(store_->Path(l.digest)));
    desc["mediaType"] = l.media_type;
    manifest["layers"].push_back(desc);
  }
  nlohmann::json mdesc = put(manifest.dump());
  mdesc["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
  mdesc["annotations"] = {{"org.opencontainers.image.ref.name", "latest"}};
  testing::WriteBytes(layout + "/index.json",
                      nlohmann::json{{"schemaVersion", 2}, {"manifests", {mdesc}}}.dump());
  testing::WriteBytes(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::string bundle = tmp_.Sub("bundle");
  auto r = RunCommand("umoci unpack --image '" + layout + ":latest' '" + bundle + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto m = sn_->MountSnapshot("child", true);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(DescribeTree(bundle + "/rootfs"), DescribeTree((*m)->path()));
}

TEST_P(LayerExportTest, RewriteTimestampClampsToSourceDateEpoch) {
  auto m = sn_->MountSnapshot("child", true);
  ASSERT_TRUE(m.ok());
  LayerOptions opts;
  opts.source_date_epoch = 1000000000;  // before every file here was written
  LayerDescriptor plain = Export("child", "base", opts);
  opts.rewrite_timestamp = true;
  LayerDescriptor clamped = Export("child", "base", opts);
  EXPECT_NE(plain.digest, clamped.digest);
  for (const auto& e : testing::ReadEntries(ReadFile(store_->Path(clamped.digest)))) {
    if (e.name.find(".wh.") != std::string::npos) {
      EXPECT_EQ(e.mtime_sec, 0) << e.name;
    } else {
      EXPECT_EQ(e.mtime_sec, 1000000000) << e.name;
    }
  }
}

TEST_P(LayerExportTest, FailuresLeaveNoBlobBehind) {
  LayerOptions opts;
  auto r = ExportLayer(ctx_, *sn_, "missing", "base", *store_, opts);
  EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
  opts.compression = Compression::kEstargz;
  EXPECT_EQ(ExportLayer(ctx_, *sn_, "child", "base", *store_, opts).status().code(),
            Code::kUnimplemented);
  opts.compression = Compression::kGzip;
  Context cancelled = ctx_.Child();
  cancelled.Cancel(Cancelled("build cancelled"));
  r = ExportLayer(cancelled, *sn_, "child", "base", *store_, opts);
  EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status().ToString();
  EXPECT_EQ(snapshot::testing::Names(store_.dir() + "/content/blobs/sha256"), Strings{});
  EXPECT_EQ(snapshot::testing::Names(store_.dir() + "/content/ingest"), Strings{});
}

TEST_P(LayerExportTest, TheLeaseKeepsTheBlobFromGc) {
  content::Lease lease = store_->NewLease("export");
  LayerOptions opts;
  auto d = ExportLayer(ctx_, *sn_, "base", "", *store_, opts, &lease);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE(store_->GC(ctx_).ok());
  EXPECT_TRUE(store_->Has(d->digest));
  lease.Release();
  ASSERT_TRUE(store_->GC(ctx_).ok());
  EXPECT_FALSE(store_->Has(d->digest));
}

INSTANTIATE_TEST_SUITE_P(Snapshotters, LayerExportTest, ::testing::Values("native", "overlayfs"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln::layer
