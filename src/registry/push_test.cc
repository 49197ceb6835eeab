// Client::PushBlob / PushManifest / Push against the fake registry: what ends up stored, which
// requests were needed (HEAD skips, mounts, chunks), and the errors a user sees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>

#include "content/testing/temp_store.h"
#include "registry/client.h"
#include "registry/testing/fake_registry.h"

namespace kiln::registry {
namespace {

using testing::Answer;
using testing::ErrorBody;
using testing::FakeRegistry;
using ::testing::HasSubstr;
using testing::MakeImage;
using testing::MakeIndex;
using testing::TestImage;
using testing::TestRequest;
using testing::TestResponse;

Platform Linux(const std::string& arch) { return testing::LinuxPlatform(arch); }

Descriptor Desc(std::string_view type, const Digest& digest, int64_t size) {
  Descriptor d;
  d.media_type = std::string(type);
  d.digest = digest;
  d.size = size;
  return d;
}

bool IsUpload(const TestRequest& r) { return r.path.find("/blobs/uploads/") != std::string::npos; }

int CountUploads(FakeRegistry& reg) {
  int n = 0;
  for (const auto& r : reg.server().requests()) n += IsUpload(r);
  return n;
}

class PushTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> NewClient(FakeRegistry& reg) {
    ClientOptions o;
    HostConfig c;
    c.http = true;
    o.hosts.Set(reg.host(), c);
    o.initial_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(2);
    return std::make_unique<Client>(std::move(o));
  }
  Reference Ref(const FakeRegistry& r, const std::string& repo_tag) {
    auto ref = ParseReference(r.host() + "/" + repo_tag);
    KILN_CHECK(ref.ok());
    return *ref;
  }
  // Puts the image's blobs and manifest in the store; returns the manifest's descriptor.
  Descriptor Store(const TestImage& img) {
    auto ctx = Context::Background();
    KILN_CHECK(store_->WriteBlob(ctx, img.config).ok());
    for (const auto& l : img.layers) KILN_CHECK(store_->WriteBlob(ctx, l).ok());
    return StoreManifest(img.manifest_type, img.manifest);
  }
  Descriptor StoreManifest(const std::string& type, const std::string& body) {
    KILN_CHECK(store_->WriteBlob(Context::Background(), body).ok());
    return Desc(type, Digest::FromBytes(body), static_cast<int64_t>(body.size()));
  }

  content::testing::TempStore store_;
};

TEST_F(PushTest, FirstPushUploadsEverythingAndTheSecondOnlyChecks) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"layer one", "layer two"});
  Descriptor root = Store(img);
  auto client = NewClient(reg);
  auto ref = Ref(reg, "app:v1");

  auto r = client->Push(Context::Background(), ref, root, *store_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->root, root);
  EXPECT_EQ(r->blobs_uploaded, 3);
  EXPECT_EQ(r->blobs_existing, 0);
  EXPECT_EQ(r->bytes_uploaded,
            static_cast<int64_t>(img.config.size() + img.layers[0].size() + img.layers[1].size()));
  EXPECT_EQ(r->manifests_pushed, 1);
  EXPECT_EQ(reg.Stored("/v2/app/blobs/" + img.layer_digests[1].str()), "layer two");
  EXPECT_EQ(reg.Stored("/v2/app/blobs/" + img.config_digest.str()), img.config);
  EXPECT_EQ(reg.Stored("/v2/app/manifests/v1"), img.manifest);
  EXPECT_EQ(reg.Stored("/v2/app/manifests/" + img.manifest_digest.str()), img.manifest);
  for (const auto& q : reg.server().requests()) {
    if (q.method == "PUT" && IsUpload(q)) {
      // The Location's own query is kept and the digest appended to it.
      EXPECT_THAT(q.target, HasSubstr("?_state="));
      EXPECT_THAT(q.target, HasSubstr("&digest=sha256:"));
      EXPECT_EQ(q.Header("content-type"), "application/octet-stream");
    }
    if (q.method == "PUT" && q.path == "/v2/app/manifests/v1") {
      EXPECT_EQ(q.Header("content-type"), img.manifest_type);
    }
  }
  // What was pushed pulls back.
  content::testing::TempStore other;
  auto pulled = client->Pull(Context::Background(), ref, Linux("amd64"), *other);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(pulled->root.digest, img.manifest_digest);

  size_t before = reg.server().requests().size();
  int uploads = CountUploads(reg);
  r = client->Push(Context::Background(), ref, root, *store_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->blobs_uploaded, 0);
  EXPECT_EQ(r->blobs_existing, 3);
  EXPECT_EQ(r->bytes_uploaded, 0);
  EXPECT_EQ(r->manifests_pushed, 0);
  EXPECT_EQ(r->manifests_existing, 1);
  EXPECT_EQ(CountUploads(reg), uploads);
  auto all = reg.server().requests();
  for (size_t i = before; i < all.size(); i++) EXPECT_EQ(all[i].method, "HEAD") << all[i].target;
}

TEST_F(PushTest, ChunkedUploadSendsRangesAndStoresTheRightBlob) {
  FakeRegistry reg;
  reg.set_absolute_locations(true);
  std::string big;
  for (int i = 0; i < 2500; i++) big += static_cast<char>('a' + (i * 7) % 26);
  TestImage img = MakeImage("amd64", {big});
  Store(img);
  auto client = NewClient(reg);
  Descriptor layer = Desc("application/vnd.oci.image.layer.v1.tar", img.layer_digests[0],
                          static_cast<int64_t>(big.size()));
  std::mutex mu;
  std::vector<PushProgress> events;
  PushBlobOptions o;
  o.chunk_size = 1000;
  o.progress = [&](const PushProgress& p) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(p);
  };
  Status s = client->PushBlob(Context::Background(), Ref(reg, "app:v1"), layer, *store_, o);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(reg.Stored("/v2/app/blobs/" + layer.digest.str()), big);
  std::vector<std::string> ranges;
  int puts = 0;
  for (const auto& q : reg.server().requests()) {
    if (q.method == "PATCH") {
      ranges.push_back(q.Header("content-range"));
      EXPECT_EQ(q.Header("content-type"), "application/octet-stream");
    }
    if (q.method == "PUT") {
      puts++;
      EXPECT_EQ(q.body, "");  // every byte went in the chunks
      EXPECT_EQ(q.query.at("digest"), layer.digest.str());
    }
  }
  EXPECT_THAT(ranges, ::testing::ElementsAre("0-999", "1000-1999", "2000-2499"));
  EXPECT_EQ(puts, 1);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().done);
  EXPECT_EQ(events.back().outcome, BlobOutcome::kUploaded);
  EXPECT_EQ(events.back().offset, 2500);
  EXPECT_EQ(events.back().total, 2500);
}

TEST_F(PushTest, BlobsAreMountedFromAnotherRepository) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"base layer"});
  reg.AddImage("base", "v1", img);
  Descriptor root = Store(img);
  auto client = NewClient(reg);
  PushOptions o;
  o.mount_from = [](const Descriptor&) { return std::string("base"); };
  auto r = client->Push(Context::Background(), Ref(reg, "app:v1"), root, *store_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->blobs_mounted, 2);
  EXPECT_EQ(r->blobs_uploaded, 0);
  EXPECT_EQ(reg.Stored("/v2/app/blobs/" + img.layer_digests[0].str()), "base layer");
  int posts = 0;
  for (const auto& q : reg.server().requests()) {
    EXPECT_NE(q.method, "PATCH");
    EXPECT_FALSE(q.method == "PUT" && IsUpload(q)) << q.target;
    if (q.method == "POST") {
      posts++;
      EXPECT_EQ(q.query.at("from"), "base");
    }
  }
  EXPECT_EQ(posts, 2);
}

TEST_F(PushTest, RefusedMountFallsBackToAnUpload) {
  FakeRegistry reg;
  reg.set_mounts(false);
  TestImage img = MakeImage("amd64", {"base layer"});
  reg.AddImage("base", "v1", img);
  Descriptor root = Store(img);
  auto client = NewClient(reg);
  PushOptions o;
  o.mount_from = [](const Descriptor&) { return std::string("base"); };
  auto r = client->Push(Context::Background(), Ref(reg, "app:v1"), root, *store_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->blobs_mounted, 0);
  EXPECT_EQ(r->blobs_uploaded, 2);
  EXPECT_EQ(reg.Stored("/v2/app/blobs/" + img.layer_digests[0].str()), "base layer");
}

TEST_F(PushTest, MountAsksForPushAndSourcePullInOneToken) {
  FakeRegistry reg;
  std::mutex mu;
  std::vector<std::string> token_targets;
  reg.SetGate([&](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.path == "/token") {
      std::lock_guard<std::mutex> l(mu);
      token_targets.push_back(r.target);
      return Answer(200, R"({"token": "tok-1"})");
    }
    if (r.Header("authorization") != "Bearer tok-1") {
      TestResponse resp = Answer(401, ErrorBody("UNAUTHORIZED", "authentication required"));
      resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"http://" + reg.host() +
                                                        "/token\",service=\"test-registry\"");
      return resp;
    }
    return std::nullopt;
  });
  TestImage img = MakeImage("amd64", {"base layer"});
  reg.AddImage("base", "v1", img);
  Store(img);
  auto client = NewClient(reg);
  PushBlobOptions o;
  o.mount_from = "base";
  Descriptor layer = Desc(std::string(media_types::kDockerLayerGzip), img.layer_digests[0], 10);
  Status s = client->PushBlob(Context::Background(), Ref(reg, "app:v1"), layer, *store_, o);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(token_targets.size(), 1u);
  EXPECT_THAT(token_targets[0], HasSubstr("scope=repository%3Aapp%3Apull%2Cpush&"
                                          "scope=repository%3Abase%3Apull"));
}

TEST_F(PushTest, IndexPushesEachManifestBeforeTheIndex) {
  FakeRegistry reg;
  TestImage amd = MakeImage("amd64", {"amd layer"}, /*oci=*/true);
  TestImage arm = MakeImage("arm64", {"arm layer"}, /*oci=*/true);
  Store(amd);
  Store(arm);
  std::string index = MakeIndex({{"amd64", &amd}, {"arm64", &arm}});
  Descriptor root = StoreManifest(std::string(media_types::kOCIIndex), index);
  auto client = NewClient(reg);
  auto r = client->Push(Context::Background(), Ref(reg, "multi:latest"), root, *store_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->blobs_uploaded, 4);
  EXPECT_EQ(r->manifests_pushed, 3);
  EXPECT_EQ(reg.Stored("/v2/multi/manifests/latest"), index);
  EXPECT_EQ(reg.Stored("/v2/multi/manifests/" + arm.manifest_digest.str()), arm.manifest);
  // Blobs first, then the two manifests by digest, the index under its tag last.
  std::vector<std::string> puts;
  for (const auto& q : reg.server().requests()) {
    if (q.method == "PUT") puts.push_back(IsUpload(q) ? "blob" : q.path);
  }
  ASSERT_EQ(puts.size(), 7u);
  for (size_t i = 0; i < 4; i++) EXPECT_EQ(puts[i], "blob");
  EXPECT_EQ(puts[4], "/v2/multi/manifests/" + amd.manifest_digest.str());
  EXPECT_EQ(puts[5], "/v2/multi/manifests/" + arm.manifest_digest.str());
  EXPECT_EQ(puts[6], "/v2/multi/manifests/latest");

  // Pushing the index by digest only: nothing to send, everything is there.
  Reference by_digest = Ref(reg, "multi@" + root.digest.str());
  r = client->Push(Context::Background(), by_digest, root, *store_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->manifests_existing, 3);
  EXPECT_EQ(r->blobs_existing, 4);
}

TEST_F(PushTest, ForeignLayersAreNotPushed) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"ours", "windows base"});
  auto m = nlohmann::json::parse(img.manifest);
  m["layers"][1]["mediaType"] = std::string(media_types::kDockerLayerForeignGzip);
  std::string manifest = m.dump();
  KILN_CHECK(store_->WriteBlob(Context::Background(), img.config).ok());
  KILN_CHECK(store_->WriteBlob(Context::Background(), "ours").ok());
  Descriptor root = StoreManifest(img.manifest_type, manifest);
  auto client = NewClient(reg);
  auto r = client->Push(Context::Background(), Ref(reg, "app:v1"), root, *store_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->blobs_uploaded, 2);
  EXPECT_EQ(r->blobs_foreign, 1);
  EXPECT_EQ(reg.server().Count("HEAD", "/v2/app/blobs/" + img.layer_digests[1].str()), 0);
}

TEST_F(PushTest, ManifestDigestMismatchFromTheRegistryIsDataLoss) {
  FakeRegistry reg;
  reg.SetGate([](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.method != "PUT" || r.path.find("/manifests/") == std::string::npos) return std::nullopt;
    TestResponse resp = Answer(201);
    resp.headers.emplace_back("Docker-Content-Digest", Digest::FromBytes("other").str());
    return resp;
  });
  TestImage img = MakeImage("amd64", {"layer"});
  Descriptor root = Store(img);
  auto client = NewClient(reg);
  auto r = client->Push(Context::Background(), Ref(reg, "app:v1"), root, *store_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_THAT(r.status().message(),
              HasSubstr(reg.host() + "/app:v1: manifest " + img.manifest_digest.str() + ": "));
  EXPECT_THAT(r.status().message(), HasSubstr("stored it as " + Digest::FromBytes("other").str()));
}

TEST_F(PushTest, BlobDigestMismatchFromTheRegistryIsDataLoss) {
  FakeRegistry reg;
  reg.SetGate([](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.method != "PUT" || !IsUpload(r)) return std::nullopt;
    TestResponse resp = Answer(201);
    resp.headers.emplace_back("Docker-Content-Digest", Digest::FromBytes("other").str());
    return resp;
  });
  TestImage img = MakeImage("amd64", {"layer"});
  Descriptor root = Store(img);
  auto client = NewClient(reg);
  auto r = client->Push(Context::Background(), Ref(reg, "app:v1"), root, *store_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr(reg.host() + "/app:v1: blob sha256:"));
}

TEST_F(PushTest, FailedUploadStartsOverFromThePost) {
  FakeRegistry reg;
  std::atomic<int> failures = 0;
  reg.SetGate([&](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.method == "PATCH" && failures++ == 0) return Answer(503);
    return std::nullopt;
  });
  TestImage img = MakeImage("amd64", {std::string(3000, 'x')});
  Store(img);
  auto client = NewClient(reg);
  Descriptor layer = Desc(std::string(media_types::kDockerLayerGzip), img.layer_digests[0], 3000);
  PushBlobOptions o;
  o.chunk_size = 1024;
  Status s = client->PushBlob(Context::Background(), Ref(reg, "app:v1"), layer, *store_, o);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(reg.server().Count("POST", "/v2/app/blobs/uploads/"), 2);
  EXPECT_EQ(reg.Stored("/v2/app/blobs/" + layer.digest.str()), std::string(3000, 'x'));
}

TEST_F(PushTest, ErrorsNameTheImageAndTheBlob) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"layer one", "missing layer"});
  KILN_CHECK(store_->WriteBlob(Context::Background(), img.config).ok());
  KILN_CHECK(store_->WriteBlob(Context::Background(), "layer one").ok());
  Descriptor root = StoreManifest(img.manifest_type, img.manifest);
  auto client = NewClient(reg);
  auto r = client->Push(Context::Background(), Ref(reg, "app:v1"), root, *store_);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), reg.host() + "/app:v1: blob " + img.layer_digests[1].str() +
                                      ": not in the content store");

  FakeRegistry denied;
  denied.SetGate([](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.method != "POST") return std::nullopt;
    return Answer(403, ErrorBody("DENIED", "requested access to the resource is denied"));
  });
  client = NewClient(denied);
  Store(img);
  r = client->Push(Context::Background(), Ref(denied, "app:v1"), root, *store_);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr(denied.host() + "/app:v1: blob sha256:"));
  EXPECT_THAT(r.status().message(), HasSubstr("requested access to the resource is denied"));
}

TEST_F(PushTest, CancellationStopsAnUpload) {
  // Declared before the registry: its threads use them until it stops.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> arrived;
  std::atomic<bool> first = true;
  FakeRegistry reg;
  reg.SetGate([&](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.method != "PUT") return std::nullopt;
    if (first.exchange(false)) arrived.set_value();
    released.wait();
    return Answer(500);
  });
  TestImage img = MakeImage("amd64", {"layer one", "layer two"});
  Descriptor root = Store(img);
  auto client = NewClient(reg);
  Context ctx = Context::Background().Child();
  auto r = std::async(std::launch::async,
                      [&] { return client->Push(ctx, Ref(reg, "app:v1"), root, *store_); });
  arrived.get_future().wait();
  ctx.Cancel(Cancelled("build cancelled"));
  auto got = r.get();
  release.set_value();
  EXPECT_EQ(got.status().code(), Code::kCancelled);
  EXPECT_THAT(got.status().message(), HasSubstr("build cancelled"));
  EXPECT_FALSE(reg.Stored("/v2/app/manifests/v1").has_value());
}

TEST_F(PushTest, ManifestBytesMustMatchTheDescriptor) {
  FakeRegistry reg;
  auto client = NewClient(reg);
  TestImage img = MakeImage("amd64", {"layer"});
  Descriptor d = Desc(img.manifest_type, img.config_digest, 1);
  Status s = client->PushManifest(Context::Background(), Ref(reg, "app:v1"), d, img.manifest);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_TRUE(reg.server().requests().empty());
}

}  // namespace
}  // namespace kiln::registry
