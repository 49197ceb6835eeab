#include "source/http.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "registry/testing/http_server.h"
#include "source/testing/temp_cache.h"

namespace kiln::source {
namespace {

using registry::testing::TestHttpServer;
using registry::testing::TestRequest;
using registry::testing::TestResponse;

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpSourceOptions o;
    o.stall_timeout = std::chrono::seconds(1);
    src_ = std::make_unique<HttpSource>(tc_.cache(), registry::NewCurlHttpClient(), o);
  }

  HttpIdentifier Id(const std::string& url, std::map<std::string, std::string> attrs = {}) {
    pb::SourceOp op;
    op.set_identifier(url);
    for (const auto& [k, v] : attrs) (*op.mutable_attrs())[k] = v;
    auto id = ParseHttp(op);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return *id;
  }

  // The second fetch of `id` reuses the first one's download.
  void FetchTwiceExpectingReuse(const HttpIdentifier& id) {
    auto first = src_->Fetch(Context::Background(), id, nullptr);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto second = src_->Fetch(Context::Background(), id, nullptr);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_TRUE(first->downloaded);
    EXPECT_FALSE(second->downloaded);
    EXPECT_EQ(second->ref.id(), first->ref.id());
    EXPECT_EQ(second->content, first->content);
    EXPECT_EQ(second->filename, first->filename);
  }

  static std::string Read(const cache::ImmutableRef& ref, const std::string& name,
                          struct stat* st = nullptr) {
    auto m = ref.Mount();
    std::string p = (*m)->path() + "/" + name;
    if (st != nullptr) lstat(p.c_str(), st);
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  testing::TempCache tc_;
  std::unique_ptr<HttpSource> src_;
};

// Serves `body` at any path with an ETag and Last-Modified, answering If-None-Match.
TestHttpServer::Handler Serving(const std::string* body, const std::string* etag) {
  return [body, etag](const TestRequest& r) {
    TestResponse resp;
    resp.headers = {{"ETag", *etag}, {"Last-Modified", "Tue, 15 Nov 1994 08:12:31 GMT"}};
    // If-None-Match compares weakly (RFC 9110 13.1.2).
    std::string strong = etag->rfind("W/", 0) == 0 ? etag->substr(2) : *etag;
    if (r.Header("if-none-match").find(strong) != std::string::npos) {
      resp.status = 304;
      return resp;
    }
    resp.body = *body;
    return resp;
  };
}

TEST_F(HttpSourceTest, DownloadsOneFileNamedModedAndTimedAsBuildKit) {
  std::string body = "hello\n", etag = "\"v1\"";
  TestHttpServer server(Serving(&body, &etag));
  auto r = src_->Fetch(Context::Background(), Id(server.url() + "/dir/hello.txt"), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->downloaded);
  EXPECT_EQ(r->filename, "hello.txt");
  EXPECT_EQ(r->content, Digest::FromBytes(body));
  struct stat st = {};
  EXPECT_EQ(Read(r->ref, "hello.txt", &st), body);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtime, 784887151);  // the Last-Modified date
  auto listing = r->ref.Mount();
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator((*listing)->path())) {
    (void)e;
    entries++;
  }
  EXPECT_EQ(entries, 1);  // nothing else in the snapshot

  auto owned = src_->Fetch(Context::Background(),
                           Id(server.url() + "/dir/hello.txt", {{"http.perm", "0755"},
                                                                {"http.uid", "12"},
                                                                {"http.gid", "34"},
                                                                {"http.filename", "renamed"}}),
                           nullptr);
  ASSERT_TRUE(owned.ok()) << owned.status().ToString();
  EXPECT_EQ(Read(owned->ref, "renamed", &st), body);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, 12u);
  EXPECT_EQ(st.st_gid, 34u);
}

TEST_F(HttpSourceTest, AnUnchangedEtagReusesTheEarlierDownload) {
  std::string body = "v1 content", etag = "\"v1\"";
  TestHttpServer server(Serving(&body, &etag));
  auto id = Id(server.url() + "/f");
  FetchTwiceExpectingReuse(id);
  EXPECT_EQ(server.Count("GET", "/f"), 1);
  ASSERT_EQ(server.Count("HEAD", "/f"), 1);
  EXPECT_EQ(server.requests().back().Header("if-none-match"), "\"v1\"");

  body = "v2 content";
  etag = "\"v2\"";
  auto third = src_->Fetch(Context::Background(), id, nullptr);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(third->downloaded);
  EXPECT_EQ(Read(third->ref, "f"), "v2 content");
  EXPECT_EQ(server.Count("GET", "/f"), 2);
}

TEST_F(HttpSourceTest, AConditionalGetAnsweredNotModifiedReusesTheDownload) {
  std::string body = "data", etag = "W/\"weak\"";
  auto serve = Serving(&body, &etag);
  // HEAD is not supported by this server: only the conditional GET can revalidate.
  TestHttpServer server([&](const TestRequest& r) {
    if (r.method == "HEAD") return TestResponse{405, {}, "", false};
    TestResponse resp = serve(r);
    if (resp.status == 304) resp.headers.clear();  // no ETag on the 304
    return resp;
  });
  auto id = Id(server.url() + "/w");
  FetchTwiceExpectingReuse(id);
  EXPECT_EQ(server.requests().back().Header("if-none-match"), "\"weak\"");
}

TEST_F(HttpSourceTest, APinnedChecksumMustMatchTheDownload) {
  std::string body = "pinned", etag = "\"p\"";
  TestHttpServer server(Serving(&body, &etag));
  Digest good = Digest::FromBytes(body);
  auto ok = src_->Fetch(Context::Background(),
                        Id(server.url() + "/p", {{"http.checksum", good.str()}}), nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->content, good);

  Digest bad = Digest::FromBytes("something else");
  auto r = src_->Fetch(Context::Background(),
                       Id(server.url() + "/p", {{"http.checksum", bad.str()}}), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "digest mismatch for " + server.url() + "/p: downloaded " +
                                      good.str() + ", expected " + bad.str());
}

TEST_F(HttpSourceTest, AnErrorStatusNamesTheUrlAndStatus) {
  TestHttpServer server([](const TestRequest&) { return TestResponse{404, {}, "nope", false}; });
  auto r = src_->Fetch(Context::Background(), Id(server.url() + "/missing"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "download " + server.url() + "/missing: the server answered with HTTP status 404");
  auto usage = tc_.cache()->DiskUsage(Context::Background());
  ASSERT_TRUE(usage.ok());
  EXPECT_TRUE(usage->empty());  // the partial download was discarded
}

TEST_F(HttpSourceTest, AuthorizationComesFromTheClientsSecrets) {
  TestHttpServer server([](const TestRequest& r) {
    if (r.Header("authorization") != "Bearer tok" && r.Header("authorization") != "Basic abc") {
      return TestResponse{401, {}, "who are you", false};
    }
    return TestResponse{200, {}, "private", false};
  });
  std::map<std::string, std::string> have;
  SecretFn secrets = [&](const std::string& id) -> Result<std::string> {
    auto it = have.find(id);
    if (it == have.end()) return NotFound("secret " + id + ": not found");
    return it->second;
  };
  auto none = src_->Fetch(Context::Background(), Id(server.url() + "/p"), nullptr, secrets);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("HTTP status 401"), std::string::npos);

  have["HTTP_AUTH_TOKEN_127.0.0.1"] = "tok";
  auto token = src_->Fetch(Context::Background(), Id(server.url() + "/p"), nullptr, secrets);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(Read(token->ref, "p"), "private");

  auto named = Id(server.url() + "/q", {{"http.authheadersecret", "MINE"}});
  auto missing = src_->Fetch(Context::Background(), named, nullptr, secrets);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "failed to retrieve HTTP auth secret MINE: secret MINE: not found");
  have["MINE"] = "Basic abc";
  EXPECT_TRUE(src_->Fetch(Context::Background(), named, nullptr, secrets).ok());
  have["MINE"] = "Basic abc\r\nX-Injected: 1";
  auto injected = src_->Fetch(Context::Background(), named, nullptr, secrets);
  ASSERT_FALSE(injected.ok());
  EXPECT_EQ(injected.status().message(), "HTTP auth secret MINE holds a line break");
}

TEST_F(HttpSourceTest, AServerThatHangsTimesOutAndCancellationStopsTheWait) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  TestHttpServer server([&](const TestRequest&) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::seconds(20), [&] { return release; });
    return TestResponse{200, {}, "late", true};
  });
  auto r = src_->Fetch(Context::Background(), Id(server.url() + "/slow"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timeout"), std::string::npos) << r.status().ToString();

  Context ctx = Context::Background().Child();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ctx.Cancel(Cancelled("job cancelled by the client"));
  });
  HttpSourceOptions o;  // the default stall timeout is a minute: only cancellation ends this
  HttpSource patient(tc_.cache(), registry::NewCurlHttpClient(), o);
  auto c = patient.Fetch(ctx, Id(server.url() + "/slow"), nullptr);
  canceller.join();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kCancelled);
  EXPECT_NE(c.status().message().find("job cancelled by the client"), std::string::npos);
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
}

}  // namespace
}  // namespace kiln::source
