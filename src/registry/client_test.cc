#include "registry/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <mutex>

#include "content/testing/temp_store.h"
#include "registry/testing/fake_registry.h"
#include "util/base64.h"

namespace kiln::registry {
namespace {

using testing::ErrorBody;
using testing::FakeRegistry;
using ::testing::HasSubstr;
using testing::MakeImage;
using testing::MakeIndex;
using testing::TestImage;
using testing::TestRequest;
using testing::TestResponse;

Platform Linux(const std::string& arch) { return testing::LinuxPlatform(arch); }
TestResponse Status(int code, std::string body = "") {
  return testing::Answer(code, std::move(body));
}

class ClientTest : public ::testing::Test {
 protected:
  // A client that talks plain HTTP to the given registries, with fast retries.
  std::unique_ptr<Client> NewClient(std::vector<FakeRegistry*> plain,
                                    std::vector<std::string> mirrors = {}) {
    ClientOptions o;
    for (auto* r : plain) {
      HostConfig c;
      c.http = true;
      c.mirrors = mirrors;
      o.hosts.Set(r->host(), c);
    }
    for (const auto& m : mirrors) {
      HostConfig c;
      c.http = true;
      o.hosts.Set(m, c);
    }
    o.initial_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(2);
    o.credentials = [this](const std::string& host) -> std::optional<Credentials> {
      std::lock_guard<std::mutex> l(mu_);
      credential_hosts_.push_back(host);
      return creds_;
    };
    return std::make_unique<Client>(std::move(o));
  }
  Reference Ref(const FakeRegistry& r, const std::string& repo_tag) {
    auto ref = ParseReference(r.host() + "/" + repo_tag);
    KILN_CHECK(ref.ok());
    return *ref;
  }
  // A registry that wants "Bearer tok-1" and whose token server (on the same port) hands it out,
  // to anyone, or only to `required` credentials.
  void UseBearer(FakeRegistry* reg, std::optional<Credentials> required = std::nullopt) {
    reg->SetGate([this, reg, required](const TestRequest& r) -> std::optional<TestResponse> {
      if (r.path == "/token") {
        token_calls_++;
        last_token_query_ = r.query;
        if (required && r.Header("authorization") !=
                            "Basic " + Base64Encode(required->username + ":" + required->secret)) {
          return Status(401, ErrorBody("UNAUTHORIZED", "incorrect username or password"));
        }
        return Status(200, R"({"token": "tok-1", "expires_in": 300})");
      }
      if (r.Header("authorization") != "Bearer tok-1") {
        TestResponse resp = Status(401, ErrorBody("UNAUTHORIZED", "authentication required"));
        resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"http://" + reg->host() +
                                                          "/token\",service=\"test-registry\"");
        return resp;
      }
      return std::nullopt;
    });
  }

  content::testing::TempStore store_;
  std::mutex mu_;
  std::optional<Credentials> creds_;
  std::vector<std::string> credential_hosts_;
  std::atomic<int> token_calls_ = 0;
  std::map<std::string, std::string> last_token_query_;
};

TEST_F(ClientTest, AnonymousPullFetchesManifestConfigAndLayers) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"layer one", "layer two"});
  reg.AddImage("app", "v1", img);
  auto client = NewClient({&reg});
  content::Lease lease = store_->NewLease("pull");
  PullOptions opts;
  opts.lease = &lease;
  auto pulled =
      client->Pull(Context::Background(), Ref(reg, "app:v1"), Linux("amd64"), *store_, opts);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(pulled->root.digest, img.manifest_digest);
  EXPECT_EQ(pulled->root.media_type, img.manifest_type);
  EXPECT_EQ(pulled->manifest_descriptor.digest, img.manifest_digest);
  EXPECT_EQ(pulled->config.raw, img.config);
  EXPECT_EQ(pulled->config.architecture, "amd64");
  ASSERT_EQ(pulled->layers.size(), 2u);
  EXPECT_EQ(*store_->ReadAll(img.layer_digests[1], 100), "layer two");
  EXPECT_EQ(*store_->ReadAll(img.manifest_digest, 10000), img.manifest);
  // Everything pulled is leased: GC keeps it.
  EXPECT_EQ(store_->GC(Context::Background())->blobs_removed, 0);
  auto& s = reg.server();
  EXPECT_EQ(s.Count("HEAD", "/v2/app/manifests/v1"), 1);
  EXPECT_EQ(s.Count("GET", "/v2/app/manifests/" + img.manifest_digest.str()), 1);
  EXPECT_EQ(s.Count("GET", "/v2/app/blobs/" + img.layer_digests[0].str()), 1);
  EXPECT_EQ(s.Count("GET", "/v2/app/blobs/" + img.config_digest.str()), 1);
  for (const auto& r : s.requests()) {
    if (r.path.find("/manifests/") != std::string::npos) {
      EXPECT_THAT(r.Header("accept"), HasSubstr("application/vnd.oci.image.index.v1+json"));
      EXPECT_THAT(r.Header("accept"),
                  HasSubstr("application/vnd.docker.distribution.manifest.list.v2+json"));
    }
  }
}

TEST_F(ClientTest, PullAgainDownloadsNothingNew) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"only layer"});
  reg.AddImage("app", "latest", img);
  auto client = NewClient({&reg});
  ASSERT_TRUE(client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_).ok());
  ASSERT_TRUE(client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_).ok());
  EXPECT_EQ(reg.server().Count("GET", "/v2/app/blobs/" + img.layer_digests[0].str()), 1);
}

TEST_F(ClientTest, ResolveFallsBackToGetWithoutDigestHeader) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"x"});
  reg.AddImage("app", "latest", img);
  reg.set_digest_header(false);
  auto client = NewClient({&reg});
  auto r = client->Resolve(Context::Background(), Ref(reg, "app"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->descriptor.digest, img.manifest_digest);
  EXPECT_EQ(r->descriptor.size, static_cast<int64_t>(img.manifest.size()));
  EXPECT_EQ(r->descriptor.media_type, img.manifest_type);
  EXPECT_EQ(reg.server().Count("GET", "/v2/app/manifests/latest"), 1);
}

TEST_F(ClientTest, PullByDigestUsesTheDigest) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"x"}, /*oci=*/true);
  reg.AddImage("app", "", img);
  auto client = NewClient({&reg});
  auto ref = Ref(reg, "app@" + img.manifest_digest.str());
  auto pulled = client->Pull(Context::Background(), ref, Linux("amd64"), *store_);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(pulled->manifest.media_type, media_types::kOCIManifest);
}

TEST_F(ClientTest, IndexSelectsThePlatformsManifest) {
  FakeRegistry reg;
  TestImage amd = MakeImage("amd64", {"amd64 layer"});
  TestImage arm = MakeImage("arm64", {"arm64 layer"});
  reg.AddImage("multi", "", amd);
  reg.AddImage("multi", "", arm);
  std::string index = MakeIndex({{"amd64", &amd}, {"arm64", &arm}});
  Digest index_digest =
      reg.AddManifest("multi", "latest", std::string(media_types::kOCIIndex), index);
  auto client = NewClient({&reg});
  Platform want = *ParsePlatform("linux/arm64/v8");
  auto pulled = client->Pull(Context::Background(), Ref(reg, "multi"), want, *store_);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(pulled->root.digest, index_digest);
  EXPECT_EQ(pulled->root.media_type, media_types::kOCIIndex);
  EXPECT_EQ(pulled->manifest_descriptor.digest, arm.manifest_digest);
  EXPECT_EQ(pulled->config.architecture, "arm64");
  EXPECT_TRUE(store_->Has(arm.layer_digests[0]));
  EXPECT_FALSE(store_->Has(amd.layer_digests[0]));
  EXPECT_TRUE(store_->Has(index_digest));

  auto none = client->Pull(Context::Background(), Ref(reg, "multi"), Linux("s390x"), *store_);
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("linux/s390x"));
}

TEST_F(ClientTest, ConfigOnlyPullSkipsLayers) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"big layer"});
  reg.AddImage("app", "latest", img);
  auto client = NewClient({&reg});
  PullOptions opts;
  opts.layers = false;
  auto pulled = client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_, opts);
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->config.config.env, std::vector<std::string>{"PATH=/bin"});
  EXPECT_FALSE(store_->Has(img.layer_digests[0]));
}

TEST_F(ClientTest, BasicAuthSendsTheHostsCredentials) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"secret layer"});
  reg.AddImage("private/app", "latest", img);
  reg.SetGate([](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.Header("authorization") == "Basic " + Base64Encode("alice:s3cret")) return std::nullopt;
    TestResponse resp = Status(401, ErrorBody("UNAUTHORIZED", "authentication required"));
    resp.headers.emplace_back("WWW-Authenticate", R"(Basic realm="kiln test")");
    return resp;
  });
  creds_ = Credentials{"alice", "s3cret"};
  auto client = NewClient({&reg});
  auto pulled =
      client->Pull(Context::Background(), Ref(reg, "private/app"), Linux("amd64"), *store_);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_THAT(credential_hosts_, ::testing::Each(reg.host()));
  // Only the first request went out without credentials.
  int unauthorized = 0;
  for (const auto& r : reg.server().requests()) unauthorized += r.Header("authorization").empty();
  EXPECT_EQ(unauthorized, 1);

  creds_ = Credentials{"alice", "wrong"};
  auto client2 = NewClient({&reg});
  auto denied = client2->Resolve(Context::Background(), Ref(reg, "private/app"));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Code::kUnauthenticated);
  EXPECT_THAT(denied.status().message(), HasSubstr(reg.host() + "/private/app:latest"));
  EXPECT_THAT(denied.status().message(), HasSubstr("wrong username or password"));

  creds_.reset();
  auto client3 = NewClient({&reg});
  auto anonymous = client3->Resolve(Context::Background(), Ref(reg, "private/app"));
  EXPECT_EQ(anonymous.status().code(), Code::kUnauthenticated);
  EXPECT_THAT(anonymous.status().message(),
              HasSubstr("pull access denied for " + reg.host() + "/private/app"));
}

TEST_F(ClientTest, BearerTokenIsFetchedOnceAndCached) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"l1", "l2", "l3"});
  reg.AddImage("app", "latest", img);
  UseBearer(&reg);
  auto client = NewClient({&reg});
  auto pulled = client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(token_calls_, 1);
  EXPECT_EQ(last_token_query_["service"], "test-registry");
  EXPECT_EQ(last_token_query_["scope"], "repository:app:pull");
  // Anonymous token: no credentials were found, none were sent.
  for (const auto& r : reg.server().requests()) {
    if (r.path == "/token") {
      EXPECT_EQ(r.Header("authorization"), "");
    }
  }
}

TEST_F(ClientTest, BearerWithCredentialsAndWrongCredentials) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"l1"});
  reg.AddImage("app", "latest", img);
  UseBearer(&reg, Credentials{"bob", "pw"});
  creds_ = Credentials{"bob", "pw"};
  auto client = NewClient({&reg});
  ASSERT_TRUE(client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_).ok());

  creds_ = Credentials{"bob", "nope"};
  auto client2 = NewClient({&reg});
  auto r = client2->Resolve(Context::Background(), Ref(reg, "app"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_THAT(r.status().message(), HasSubstr(reg.host() + "/app:latest"));
  EXPECT_THAT(r.status().message(), HasSubstr("unauthorized"));
  EXPECT_THAT(r.status().message(), HasSubstr("rejected the credentials"));
}

TEST_F(ClientTest, AccessTokenFieldIsAccepted) {
  FakeRegistry reg;
  reg.AddImage("app", "latest", MakeImage("amd64", {"l"}));
  reg.SetGate([&reg](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.path == "/oauth") return Status(200, R"({"access_token": "at", "expires_in": 10})");
    if (r.Header("authorization") == "Bearer at") return std::nullopt;
    TestResponse resp = Status(401);
    resp.headers.emplace_back("WWW-Authenticate",
                              "Bearer realm=\"http://" + reg.host() + "/oauth\"");
    return resp;
  });
  auto client = NewClient({&reg});
  EXPECT_TRUE(client->Resolve(Context::Background(), Ref(reg, "app")).ok());
}

TEST_F(ClientTest, ErrorsNameTheImageAndAreNotRetried) {
  FakeRegistry reg;
  reg.AddImage("app", "latest", MakeImage("amd64", {"l"}));
  reg.SetGate([](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.path == "/v2/forbidden/manifests/latest") {
      return Status(403, ErrorBody("DENIED", "requested access to the resource is denied"));
    }
    if (r.path == "/v2/noauth/manifests/latest") {
      return Status(401, ErrorBody("UNAUTHORIZED", "authentication required"));
    }
    return std::nullopt;
  });
  auto client = NewClient({&reg});
  auto missing = client->Resolve(Context::Background(), Ref(reg, "app:missing"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), reg.host() + "/app:missing: not found");
  EXPECT_EQ(reg.server().Count("HEAD", "/v2/app/manifests/missing"), 1);

  auto forbidden = client->Resolve(Context::Background(), Ref(reg, "forbidden"));
  EXPECT_EQ(forbidden.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(forbidden.status().message(), HasSubstr(reg.host() + "/forbidden:latest"));
  EXPECT_THAT(forbidden.status().message(),
              HasSubstr("denied: requested access to the resource is denied"));
  EXPECT_EQ(reg.server().Count("HEAD", "/v2/forbidden/manifests/latest"), 1);

  auto noauth = client->Resolve(Context::Background(), Ref(reg, "noauth"));
  EXPECT_EQ(noauth.status().code(), Code::kUnauthenticated);
  EXPECT_THAT(noauth.status().message(), HasSubstr("pull access denied for " + reg.host() +
                                                   "/noauth, repository does not exist or may "
                                                   "require authorization"));
  EXPECT_EQ(reg.server().Count("HEAD", "/v2/noauth/manifests/latest"), 1);
}

TEST_F(ClientTest, RetriesServerErrorsThenSucceeds) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"flaky layer"});
  reg.AddImage("app", "latest", img);
  std::atomic<int> head_failures = 2, blob_failures = 1, manifest_failures = 1;
  const std::string blob_path = "/v2/app/blobs/" + img.layer_digests[0].str();
  reg.SetGate([&](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.method == "HEAD" && head_failures-- > 0) return Status(503);
    if (r.method == "GET" && r.path.find("/manifests/") != std::string::npos &&
        manifest_failures-- > 0) {
      return Status(429, ErrorBody("TOOMANYREQUESTS", "slow down"));
    }
    if (r.path == blob_path && blob_failures-- > 0) return Status(500);
    return std::nullopt;
  });
  auto client = NewClient({&reg});
  auto pulled = client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(reg.server().Count("HEAD", "/v2/app/manifests/latest"), 3);
  EXPECT_EQ(reg.server().Count("GET", blob_path), 2);
  EXPECT_EQ(*store_->ReadAll(img.layer_digests[0], 100), "flaky layer");
}

TEST_F(ClientTest, GivesUpAfterFourAttempts) {
  FakeRegistry reg;
  reg.SetGate([](const TestRequest&) -> std::optional<TestResponse> { return Status(503); });
  auto client = NewClient({&reg});
  auto r = client->Resolve(Context::Background(), Ref(reg, "app"));
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("503 Service Unavailable (4 attempts)"));
  EXPECT_EQ(reg.server().Count("HEAD", "/v2/app/manifests/latest"), 4);
}

TEST_F(ClientTest, RegistryDownIsUnavailableNamingHostAndPort) {
  ClientOptions o;
  std::string host = "127.0.0.1:" + std::to_string(testing::UnusedPort());
  HostConfig c;
  c.http = true;
  o.hosts.Set(host, c);
  o.initial_backoff = std::chrono::milliseconds(1);
  Client client(std::move(o));
  auto r = client.Resolve(Context::Background(), *ParseReference(host + "/app:1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr(host + "/app:1"));
  EXPECT_THAT(r.status().message(), HasSubstr("connect to " + host + ": connection refused"));
  EXPECT_THAT(r.status().message(), HasSubstr("4 attempts"));
}

TEST_F(ClientTest, BlobDigestMismatchIsDataLossAndLeavesNothing) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"the real layer"});
  reg.AddImage("app", "latest", img);
  const std::string blob_path = "/v2/app/blobs/" + img.layer_digests[0].str();
  reg.SetGate([&](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.path == blob_path) return Status(200, "a forged layer");
    return std::nullopt;
  });
  auto client = NewClient({&reg});
  auto r = client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr(reg.host() + "/app:latest"));
  EXPECT_THAT(r.status().message(),
              HasSubstr("digest mismatch for " + img.layer_digests[0].str() + ": got " +
                        Digest::FromBytes("a forged layer").str()));
  EXPECT_FALSE(store_->Has(img.layer_digests[0]));
  EXPECT_EQ(reg.server().Count("GET", blob_path), 1);  // not retried
}

TEST_F(ClientTest, ManifestDigestMismatchIsDataLoss) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"l"});
  reg.AddImage("app", "latest", img);
  reg.SetGate([&](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.method == "GET" && r.path == "/v2/app/manifests/" + img.manifest_digest.str()) {
      return Status(200, img.manifest + " ");
    }
    return std::nullopt;
  });
  auto client = NewClient({&reg});
  auto r = client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_);
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("digest mismatch for " + img.manifest_digest.str()));
}

TEST_F(ClientTest, BlobRedirectToStorageDoesNotLeakTheToken) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"stored elsewhere"});
  reg.AddImage("app", "latest", img);
  testing::TestHttpServer storage([&](const TestRequest& r) {
    if (r.path == "/bucket/" + std::string(img.layer_digests[0].hex())) {
      return Status(200, img.layers[0]);
    }
    return Status(404);
  });
  const std::string blob_path = "/v2/app/blobs/" + img.layer_digests[0].str();
  reg.SetGate([&](const TestRequest& r) -> std::optional<TestResponse> {
    if (r.path == "/token") return Status(200, R"({"token": "tok-1"})");
    if (r.Header("authorization") != "Bearer tok-1") {
      TestResponse resp = Status(401);
      resp.headers.emplace_back("WWW-Authenticate",
                                "Bearer realm=\"http://" + reg.host() + "/token\"");
      return resp;
    }
    if (r.path == blob_path) {
      TestResponse resp = Status(307);
      resp.headers.emplace_back("Location", storage.url() + "/bucket/" +
                                                std::string(img.layer_digests[0].hex()) +
                                                "?X-Signature=abc");
      return resp;
    }
    return std::nullopt;
  });
  auto client = NewClient({&reg});
  auto pulled = client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(*store_->ReadAll(img.layer_digests[0], 100), "stored elsewhere");
  auto reqs = storage.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].query.at("X-Signature"), "abc");
  EXPECT_EQ(reqs[0].Header("authorization"), "");
}

TEST_F(ClientTest, MirrorIsTriedFirstAndFallsBackToTheRegistry) {
  FakeRegistry origin, mirror;
  TestImage img = MakeImage("amd64", {"mirrored", "origin only"});
  origin.AddImage("app", "latest", img);
  // The mirror has the manifest, config and first layer, not the second layer.
  mirror.AddManifest("app", "latest", img.manifest_type, img.manifest);
  mirror.AddBlob("app", img.config);
  mirror.AddBlob("app", img.layers[0]);
  auto client = NewClient({&origin}, {mirror.host()});
  auto pulled = client->Pull(Context::Background(), Ref(origin, "app"), Linux("amd64"), *store_);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(origin.server().Count("HEAD", "/v2/app/manifests/latest"), 0);
  EXPECT_EQ(origin.server().Count("GET", "/v2/app/blobs/" + img.layer_digests[0].str()), 0);
  EXPECT_EQ(mirror.server().Count("GET", "/v2/app/blobs/" + img.layer_digests[1].str()), 1);
  EXPECT_EQ(origin.server().Count("GET", "/v2/app/blobs/" + img.layer_digests[1].str()), 1);
  EXPECT_TRUE(store_->Has(img.layer_digests[1]));
}

TEST_F(ClientTest, ConcurrentPullsDownloadEachBlobOnce) {
  FakeRegistry reg;
  TestImage img = MakeImage("amd64", {"a", "b", "c", "d"});
  reg.AddImage("app", "latest", img);
  auto client = NewClient({&reg});
  std::vector<std::future<Result<PulledImage>>> pulls;
  for (int i = 0; i < 4; i++) {
    pulls.push_back(std::async(std::launch::async, [&] {
      return client->Pull(Context::Background(), Ref(reg, "app"), Linux("amd64"), *store_);
    }));
  }
  for (auto& p : pulls) ASSERT_TRUE(p.get().ok());
  for (const auto& d : img.layer_digests) {
    EXPECT_EQ(reg.server().Count("GET", "/v2/app/blobs/" + d.str()), 1) << d.str();
  }
}

TEST_F(ClientTest, CancellationStopsAWaitingRequest) {
  // Declared before the registry: its threads use them until it stops.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> arrived;
  std::atomic<bool> first = true;
  FakeRegistry reg;
  reg.SetGate([&first, &arrived, released](const TestRequest&) -> std::optional<TestResponse> {
    if (first.exchange(false)) arrived.set_value();
    released.wait();
    return Status(404);
  });
  auto client = NewClient({&reg});
  Context ctx = Context::Background().Child();
  auto r = std::async(std::launch::async, [&] { return client->Resolve(ctx, Ref(reg, "app")); });
  arrived.get_future().wait();
  ctx.Cancel(Cancelled("build cancelled"));
  auto got = r.get();
  release.set_value();
  EXPECT_EQ(got.status().code(), Code::kCancelled);
  EXPECT_THAT(got.status().message(), HasSubstr("build cancelled"));
}

TEST(HttpTest, SendsBodiesForPushes) {
  testing::TestHttpServer server([](const TestRequest& r) {
    return Status(201, r.method + " " + r.Header("content-length") + " " + r.body);
  });
  auto http = NewCurlHttpClient();
  auto ctx = Context::Background();
  HttpRequest put;
  put.method = "PUT";
  put.url = server.url() + "/upload";
  put.body = "payload";
  auto r = http->Do(ctx, put);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "PUT 7 payload");

  HttpRequest patch;
  patch.method = "PATCH";
  patch.url = server.url() + "/upload";
  std::string source = "streamed chunk";
  size_t off = 0;
  patch.body_reader = [&](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min(n, source.size() - off);
    std::memcpy(buf, source.data() + off, k);
    off += k;
    return k;
  };
  r = http->Do(ctx, patch);  // unknown size: chunked
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "PATCH  streamed chunk");

  HttpRequest post;
  post.method = "POST";
  post.url = server.url() + "/start";
  r = http->Do(ctx, post);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "POST 0 ");
}

TEST(HttpTest, CollectedBodiesHaveALimit) {
  testing::TestHttpServer server(
      [](const TestRequest&) { return Status(200, std::string(100, 'x')); });
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.url() + "/big";
  req.max_body = 10;
  auto r = http->Do(Context::Background(), req);
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
}

TEST(HttpTest, HostPortOf) {
  EXPECT_EQ(HostPortOf("https://registry-1.docker.io/v2/"), "registry-1.docker.io:443");
  EXPECT_EQ(HostPortOf("http://localhost/v2"), "localhost:80");
  EXPECT_EQ(HostPortOf("http://127.0.0.1:5000/v2?x"), "127.0.0.1:5000");
  EXPECT_EQ(HostPortOf("https://[::1]:5000/v2"), "[::1]:5000");
  EXPECT_EQ(HostPortOf("https://[::1]/v2"), "[::1]:443");
}

}  // namespace
}  // namespace kiln::registry
