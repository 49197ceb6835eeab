// registry::Client::Push against Debian's docker-registry on 127.0.0.1 (tests/fixtures), plain,
// with TLS + basic auth and with bearer tokens: a fixture image pulled into a content store and
// pushed under a new name is what skopeo (an independent client) then sees; a second push uploads
// nothing; a push to a third repository mounts every blob; small chunks still give the same blobs.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "content/store.h"
#include "harness.h"
#include "registry/client.h"
#include "registry_fixture.h"

namespace kiln::itest {
namespace {

class PushTest : public ::testing::TestWithParam<RegistryMode> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(reg_.Start(GetParam())) << reg_.error();
    images_ = reg_.PushFixtureImages({"busybox", "layers"});
    ASSERT_FALSE(images_.is_discarded()) << reg_.error();
    dir_ = MakeTempDir("kiln-push");
    auto store = content::Store::Open(dir_ + "/content");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);

    registry::ClientOptions o;
    registry::HostConfig c;
    if (reg_.tls()) {
      c.ca = {reg_.ca_cert()};
    } else {
      c.http = true;
    }
    if (!reg_.username().empty()) {
      c.credentials = registry::Credentials{reg_.username(), reg_.password()};
    }
    o.hosts.Set(reg_.host(), c);
    client_ = std::make_unique<registry::Client>(std::move(o));
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << reg_.Log() << "\n";
    client_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  registry::Reference Ref(const std::string& name) {
    auto r = registry::ParseReference(reg_.host() + "/" + name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : registry::Reference();
  }
  // Pulls a fixture image (all its layers) into the store.
  registry::PulledImage Pull(const std::string& image) {
    auto pulled = client_->Pull(Context::Background(), Ref(image + ":latest"),
                                registry::HostPlatform(), *store_);
    EXPECT_TRUE(pulled.ok()) << pulled.status().ToString();
    return pulled.ok() ? *pulled : registry::PulledImage();
  }
  // `skopeo inspect` of a reference here: the manifest digest and layer digests it reports
  // (it reads the config blob too).
  nlohmann::json Inspect(const std::string& ref) {
    std::vector<std::string> argv = {"skopeo", "inspect"};
    for (const auto& a : reg_.SkopeoArgs()) argv.push_back(a);
    argv.push_back("docker://" + ref);
    RunResult r = itest::Run(argv);
    EXPECT_EQ(r.exit_code, 0) << ref << ": " << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  int Uploads(const std::string& repo) const {
    std::string prefix = "/v2/" + repo + "/blobs/uploads";
    return reg_.CountRequests("POST", prefix) + reg_.CountRequests("PATCH", prefix) +
           reg_.CountRequests("PUT", prefix);
  }

  RegistryFixture reg_;
  nlohmann::json images_;
  std::string dir_;
  std::unique_ptr<content::Store> store_;
  std::unique_ptr<registry::Client> client_;
};

TEST_P(PushTest, PushedImageIsWhatSkopeoSeesAndASecondPushUploadsNothing) {
  for (const std::string image : {"busybox", "layers"}) {
    registry::PulledImage pulled = Pull(image);
    ASSERT_FALSE(pulled.layers.empty()) << image;
    const std::string repo = "pushed/" + image;
    auto r = client_->Push(Context::Background(), Ref(repo + ":v1"), pulled.root, *store_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->blobs_uploaded, static_cast<int>(pulled.layers.size()) + 1) << image;
    EXPECT_EQ(r->blobs_existing, 0) << image;
    EXPECT_GE(r->manifests_pushed, 1) << image;
    EXPECT_GT(Uploads(repo), 0);

    nlohmann::json seen = Inspect(reg_.host() + "/" + repo + ":v1");
    ASSERT_TRUE(seen.is_object()) << image;
    EXPECT_EQ(JsonStr(JsonAt(seen, {"Digest"})), pulled.root.digest.str()) << image;
    const nlohmann::json& layers = JsonAt(seen, {"Layers"});
    ASSERT_EQ(layers.size(), pulled.layers.size()) << image;
    for (size_t i = 0; i < layers.size(); i++) {
      EXPECT_EQ(JsonStr(layers[i]), pulled.layers[i].digest.str()) << image << i;
    }

    int before = Uploads(repo);
    r = client_->Push(Context::Background(), Ref(repo + ":v1"), pulled.root, *store_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->blobs_uploaded, 0) << image;
    EXPECT_EQ(r->blobs_existing, static_cast<int>(pulled.layers.size()) + 1) << image;
    EXPECT_EQ(r->manifests_pushed, 0) << image;
    EXPECT_EQ(Uploads(repo), before) << image;
  }
}

TEST_P(PushTest, BlobsAreMountedFromTheRepositoryTheyWerePulledFrom) {
  registry::PulledImage pulled = Pull("layers");
  ASSERT_FALSE(pulled.layers.empty());
  registry::PushOptions o;
  o.mount_from = [](const registry::Descriptor&) { return std::string("layers"); };
  auto r = client_->Push(Context::Background(), Ref("mounted/layers:v1"), pulled.root, *store_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->blobs_mounted, static_cast<int>(pulled.layers.size()) + 1);
  EXPECT_EQ(r->blobs_uploaded, 0);
  EXPECT_EQ(reg_.CountRequests("PATCH", "/v2/mounted/layers/blobs/uploads"), 0);
  EXPECT_EQ(reg_.CountRequests("PUT", "/v2/mounted/layers/blobs/uploads"), 0);
  nlohmann::json seen = Inspect(reg_.host() + "/mounted/layers:v1");
  EXPECT_EQ(JsonStr(JsonAt(seen, {"Digest"})), pulled.root.digest.str());
}

TEST_P(PushTest, SmallChunksGiveTheSameImage) {
  registry::PulledImage pulled = Pull("busybox");
  ASSERT_FALSE(pulled.layers.empty());
  registry::PushOptions o;
  o.chunk_size = 64 << 10;
  auto r = client_->Push(Context::Background(), Ref("chunked/busybox:v1"), pulled.root, *store_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int64_t layer_bytes = pulled.layers[0].size;
  EXPECT_GE(reg_.CountRequests("PATCH", "/v2/chunked/busybox/blobs/uploads"),
            static_cast<int>(layer_bytes / o.chunk_size));
  nlohmann::json seen = Inspect(reg_.host() + "/chunked/busybox:v1");
  EXPECT_EQ(JsonStr(JsonAt(seen, {"Digest"})), pulled.root.digest.str());
}

INSTANTIATE_TEST_SUITE_P(Modes, PushTest,
                         ::testing::Values(RegistryMode::kPlain, RegistryMode::kBasic,
                                           RegistryMode::kToken),
                         [](const auto& info) {
                           return std::string(RegistryModeName(info.param));
                         });

}  // namespace
}  // namespace kiln::itest
