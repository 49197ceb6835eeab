#include "exporter/image_commit.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "content/testing/temp_store.h"
#include "exporter/image_options.h"
#include "registry/manifest.h"
#include "snapshot/snapshotter.h"
#include "util/fs_copy.h"
#include "util/rfc3339.h"

namespace kiln::exporter {
namespace {

using nlohmann::json;

ChainLayer Layer(const std::string& diff, int64_t created_s, const std::string& desc) {
  ChainLayer l;
  l.blob.diff_id = Digest::FromBytes(diff);
  l.created_at = created_s * 1000000000;
  l.description = desc;
  return l;
}

json Patch(const std::string& config, const std::vector<ChainLayer>& layers,
           std::optional<int64_t> epoch = std::nullopt) {
  auto r = PatchImageConfig(config, layers, epoch);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? json::parse(*r) : json();
}

TEST(PatchImageConfig, DefaultConfigGetsLayersAndHistory) {
  json c = Patch("", {Layer("a", 1700000000, "file op")});
  EXPECT_EQ(c["os"], "linux");
  EXPECT_EQ(c["architecture"], "amd64");
  EXPECT_EQ(c["config"]["WorkingDir"], "/");
  ASSERT_EQ(c["rootfs"]["diff_ids"].size(), 1u);
  EXPECT_EQ(c["rootfs"]["diff_ids"][0], Digest::FromBytes("a").str());
  ASSERT_EQ(c["history"].size(), 1u);
  EXPECT_EQ(c["history"][0]["created_by"], "file op");
  EXPECT_EQ(c["history"][0]["comment"], "buildkit.exporter.image.v0");
  EXPECT_EQ(c["history"][0]["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(c["created"], "2023-11-14T22:13:20Z");
}

TEST(PatchImageConfig, HistoryMatchedToLayersAndTimesFilled) {
  // Base image history (with times), then a config-only entry and a RUN without times.
  json cfg = {{"os", "linux"},
              {"architecture", "amd64"},
              {"config", {{"Cmd", {"sh"}}}},
              {"history",
               {{{"created", "2020-01-01T00:00:00Z"}, {"created_by", "base layer"}},
                {{"created_by", "ENV A=1"}, {"empty_layer", true}},
                {{"created_by", "RUN make"}, {"comment", "buildkit.dockerfile.v0"}}}}};
  json c =
      Patch(cfg.dump(), {Layer("base", 1500000000, "pulled"), Layer("run", 1700000000, "exec")});
  ASSERT_EQ(c["history"].size(), 3u);
  EXPECT_EQ(c["history"][0]["created"], "2020-01-01T00:00:00Z");  // kept
  EXPECT_EQ(c["history"][2]["created"], "2023-11-14T22:13:20Z");  // the RUN layer's ref time
  EXPECT_EQ(c["history"][1]["created"], "2023-11-14T22:13:20Z");  // the first new time
  EXPECT_EQ(c["history"][1]["empty_layer"], true);
  EXPECT_EQ(c["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(c["config"]["Cmd"][0], "sh");
  EXPECT_EQ(c["rootfs"]["diff_ids"].size(), 2u);
}

TEST(PatchImageConfig, MoreEntriesThanLayersBecomeEmpty) {
  json cfg = {{"os", "linux"},
              {"architecture", "arm64"},
              {"history", {{{"created_by", "a"}}, {{"created_by", "b"}}}}};
  json c = Patch(cfg.dump(), {Layer("x", 1, "x")});
  ASSERT_EQ(c["history"].size(), 2u);
  EXPECT_FALSE(c["history"][0].contains("empty_layer"));
  EXPECT_EQ(c["history"][1]["empty_layer"], true);
}

TEST(PatchImageConfig, EpochClampsLaterTimesOnly) {
  json cfg = {
      {"os", "linux"},
      {"architecture", "amd64"},
      {"created", "2030-01-01T00:00:00Z"},
      {"history",
       {{{"created", "2001-01-01T00:00:00Z"}, {"created_by", "old"}}, {{"created_by", "RUN x"}}}}};
  json c = Patch(cfg.dump(), {Layer("a", 1, "a"), Layer("b", 1800000000, "b")}, 1000000000);
  EXPECT_EQ(c["history"][0]["created"], "2001-01-01T00:00:00Z");
  EXPECT_EQ(c["history"][1]["created"], "2001-09-09T01:46:40Z");
  EXPECT_EQ(c["created"], "2001-09-09T01:46:40Z");
}

TEST(PatchImageConfig, BadConfigsAreClearErrors) {
  for (const char* bad :
       {"{", "null", "[]", R"({"architecture":"amd64"})", R"({"os":"linux"})",
        R"({"os":"linux","architecture":"amd64","history":3})",
        R"({"os":"linux","architecture":"amd64","history":[{"created":"yesterday"}]})"}) {
    auto r = PatchImageConfig(bad, {}, std::nullopt);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("image config"), std::string::npos) << bad;
    }
  }
}

TEST(ImageOptions, ParsesBuildKitAttributes) {
  auto o = ParseImageExportOptions(ImageExporterKind::kImage,
                                   {{"name", "a:1,b:2"},
                                    {"push", ""},
                                    {"registry.insecure", "true"},
                                    {"annotation.org.x", "y"},
                                    {"compression", "zstd"}},
                                   {{"source.date.epoch", "42"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->names, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_TRUE(o->push);
  EXPECT_TRUE(o->insecure);
  EXPECT_EQ(o->manifest_annotations.at("org.x"), "y");
  EXPECT_TRUE(*o->layers.oci_mediatypes);  // zstd needs OCI types
  EXPECT_EQ(o->epoch, 42);

  auto oci = ParseImageExportOptions(ImageExporterKind::kOCI, {{"tar", "false"}}, {});
  ASSERT_TRUE(oci.ok());
  EXPECT_TRUE(*oci->layers.oci_mediatypes);
  EXPECT_FALSE(oci->tar);
  auto docker = ParseImageExportOptions(ImageExporterKind::kDocker, {}, {});
  EXPECT_FALSE(*docker->layers.oci_mediatypes);

  auto bad = ParseImageExportOptions(ImageExporterKind::kImage, {{"push", "yes"}}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      bad.status().message(),
      "non-bool value specified for push: strconv.ParseBool: parsing \"yes\": invalid syntax");
  auto conflict = ParseImageExportOptions(
      ImageExporterKind::kImage, {{"compression", "zstd"}, {"oci-mediatypes", "false"}}, {});
  EXPECT_FALSE(conflict.ok());
  auto epoch = ParseImageExportOptions(ImageExporterKind::kImage, {}, {{"source.date.epoch", "x"}});
  EXPECT_FALSE(epoch.ok());
}

TEST(ImageOptions, AnnotationKeysAsBuildKitReadsThem) {
  auto o = ParseImageExportOptions(ImageExporterKind::kOCI,
                                   {{"annotation.a", "1"},
                                    {"annotation-manifest.b", "2"},
                                    {"annotation-manifest-descriptor.c", "3"},
                                    {"annotation-index.d", "4"},
                                    {"annotation-index-descriptor.e", "5"},
                                    {"annotation-manifest[linux/aarch64].f", "6"},
                                    {"annotation[linux/arm64].a", "7"},
                                    {"annotation-manifest-descriptor[linux/amd64].g", "8"},
                                    {"annotations", "not one"},
                                    {"annotation-x", "not one either"}},
                                   {});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  using M = std::map<std::string, std::string>;
  EXPECT_EQ(o->manifest_annotations, (M{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(o->manifest_descriptor_annotations, (M{{"c", "3"}}));
  EXPECT_EQ(o->index_annotations, (M{{"d", "4"}}));
  EXPECT_EQ(o->index_descriptor_annotations, (M{{"e", "5"}}));
  // A platform's own come after (and over) those of every platform.
  EXPECT_EQ(o->ManifestAnnotations("linux/arm64"), (M{{"a", "7"}, {"b", "2"}, {"f", "6"}}));
  EXPECT_EQ(o->ManifestAnnotations("linux/amd64"), (M{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(o->ManifestAnnotations(""), (M{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(o->ManifestDescriptorAnnotations("linux/amd64"), (M{{"c", "3"}, {"g", "8"}}));

  auto bad = ParseImageExportOptions(ImageExporterKind::kOCI, {{"annotation-layer.x", "1"}}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "exporter attribute annotation-layer.x: unrecognized annotation type layer");
  bad = ParseImageExportOptions(ImageExporterKind::kOCI, {{"annotation[linux/x/y/z].k", "1"}}, {});
  EXPECT_FALSE(bad.ok());
  bad = ParseImageExportOptions(ImageExporterKind::kOCI, {{"annotation-index.", "1"}}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "exporter attribute annotation-index.: empty annotation key");
}

TEST(ImageOptions, FrontendMetadataAnnotationsAddToAndWinOverTheAttributes) {
  auto o = ParseImageExportOptions(ImageExporterKind::kImage,
                                   {{"annotation.a", "attr"}, {"annotation-index.i", "attr"}},
                                   {{"annotation.a", "meta"},
                                    {"annotation.b", "meta"},
                                    {"annotation-manifest-descriptor[linux/arm64].d", "meta"},
                                    {"containerimage.config", "{}"},
                                    {"annotation.", "not a key here"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  using M = std::map<std::string, std::string>;
  EXPECT_EQ(o->manifest_annotations, (M{{"a", "meta"}, {"b", "meta"}}));
  EXPECT_EQ(o->index_annotations, (M{{"i", "attr"}}));
  EXPECT_EQ(o->ManifestDescriptorAnnotations("linux/arm64"), (M{{"d", "meta"}}));

  auto bad = ParseImageExportOptions(ImageExporterKind::kImage, {}, {{"annotation-blob.x", "1"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "frontend metadata annotation-blob.x: unrecognized annotation type blob");
}

// Layer chains over a real cache manager (native snapshotter) and content store.
class LayerChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-chain-XXXXXX";
    root_ = mkdtemp(tmpl);
    sn_ = std::move(*snapshot::NewNativeSnapshotter(root_ + "/snapshots"));
    auto m = cache::Manager::Open(root_, sn_.get());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mgr_ = std::move(*m);
  }
  void TearDown() override {
    mgr_.reset();
    sn_.reset();
    RemoveAll(root_).IgnoreError();
  }
  cache::ImmutableRef MakeRef(const std::string& file, const std::string& content,
                              const cache::ImmutableRef* parent) {
    auto m = mgr_->New(Context::Background(), parent, "write " + file);
    EXPECT_TRUE(m.ok());
    {
      auto mnt = m->Mount();
      std::ofstream((*mnt)->path() + "/" + file) << content;
    }
    auto r = m->Commit();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  std::string root_;
  std::unique_ptr<snapshot::Snapshotter> sn_;
  std::unique_ptr<cache::Manager> mgr_;
  content::testing::TempStore store_;
};

TEST_F(LayerChainTest, OneLayerPerRefReusedOnTheSecondExport) {
  cache::ImmutableRef base = MakeRef("a", "base", nullptr);
  cache::ImmutableRef top = MakeRef("b", "top", &base);
  layer::LayerOptions opts;
  opts.oci_mediatypes = true;
  auto lease = store_->NewLease("t");
  auto first = ExportLayerChain(Context::Background(), *mgr_, *store_, top, opts, &lease, nullptr);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].ref_id, base.id());
  EXPECT_EQ((*first)[1].ref_id, top.id());
  EXPECT_FALSE((*first)[0].reused);
  EXPECT_EQ((*first)[1].blob.diff.entries, 1);  // only "b"
  EXPECT_EQ((*first)[1].blob.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  for (const auto& l : *first) EXPECT_TRUE(store_->Has(l.blob.digest));

  // Again, with Docker media types: the same blobs, converted types.
  opts.oci_mediatypes = false;
  auto second = ExportLayerChain(Context::Background(), *mgr_, *store_, top, opts, &lease, nullptr);
  ASSERT_TRUE(second.ok());
  for (size_t i = 0; i < 2; i++) {
    EXPECT_TRUE((*second)[i].reused);
    EXPECT_EQ((*second)[i].blob.digest, (*first)[i].blob.digest);
    EXPECT_EQ((*second)[i].blob.diff_id, (*first)[i].blob.diff_id);
    EXPECT_EQ((*second)[i].blob.media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  }

  // force-compression to zstd makes new blobs; without force the gzip ones serve zstd asks.
  opts.compression = layer::Compression::kZstd;
  auto lazy = ExportLayerChain(Context::Background(), *mgr_, *store_, top, opts, &lease, nullptr);
  ASSERT_TRUE(lazy.ok());
  EXPECT_EQ((*lazy)[1].blob.digest, (*first)[1].blob.digest);
  opts.force_compression = true;
  auto forced = ExportLayerChain(Context::Background(), *mgr_, *store_, top, opts, &lease, nullptr);
  ASSERT_TRUE(forced.ok());
  EXPECT_FALSE((*forced)[1].reused);
  EXPECT_NE((*forced)[1].blob.digest, (*first)[1].blob.digest);
  EXPECT_EQ((*forced)[1].blob.diff_id, (*first)[1].blob.diff_id);  // same tar
}

TEST_F(LayerChainTest, CollectedBlobIsMadeAgain) {
  cache::ImmutableRef only = MakeRef("a", "x", nullptr);
  layer::LayerOptions opts;
  std::optional<Digest> digest;
  {
    auto lease = store_->NewLease("t");
    auto l = ExportLayerChain(Context::Background(), *mgr_, *store_, only, opts, &lease, nullptr);
    ASSERT_TRUE(l.ok());
    digest = (*l)[0].blob.digest;
  }
  ASSERT_TRUE(store_->GC(Context::Background()).ok());
  ASSERT_FALSE(store_->Has(*digest));
  auto lease = store_->NewLease("t");
  auto again = ExportLayerChain(Context::Background(), *mgr_, *store_, only, opts, &lease, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)[0].reused);
  EXPECT_EQ((*again)[0].blob.digest, *digest);  // deterministic bytes
  EXPECT_TRUE(store_->Has(*digest));
}

TEST_F(LayerChainTest, CommitWritesManifestAndConfig) {
  cache::ImmutableRef base = MakeRef("a", "base", nullptr);
  ImageCommitOptions opts;
  auto lease = store_->NewLease("t");
  auto img =
      CommitImage(Context::Background(), *mgr_, *store_, base,
                  R"({"os":"linux","architecture":"amd64","config":{}})", opts, &lease, nullptr);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  auto mbytes = store_->ReadAll(img->manifest.digest, 1 << 20);
  ASSERT_TRUE(mbytes.ok());
  auto m = registry::ParseManifest(*mbytes, img->manifest.media_type, "test");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->config.digest, img->config.digest);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  EXPECT_EQ(img->manifest.media_type, "application/vnd.docker.distribution.manifest.v2+json");
  auto cfg = json::parse(*store_->ReadAll(img->config.digest, 1 << 20));
  EXPECT_EQ(cfg["rootfs"]["diff_ids"][0], img->layers[0].blob.diff_id.str());

  // An empty result is an image without layers.
  auto empty = CommitImage(Context::Background(), *mgr_, *store_, cache::ImmutableRef(), "", opts,
                           &lease, nullptr);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->layers.empty());
}

}  // namespace
}  // namespace kiln::exporter
