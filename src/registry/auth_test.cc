#include "registry/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/base64.h"
#include "util/context.h"

namespace kiln::registry {
namespace {

using Params = std::map<std::string, std::string>;

TEST(WWWAuthenticateTest, ParsesChallenges) {
  struct Case {
    std::string header;
    std::vector<Challenge> want;
  };
  const Case cases[] = {
      {R"(Basic realm="Registry Realm")", {{"basic", Params{{"realm", "Registry Realm"}}}}},
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
       R"(scope="repository:library/busybox:pull")",
       {{"bearer", Params{{"realm", "https://auth.docker.io/token"},
                          {"service", "registry.docker.io"},
                          {"scope", "repository:library/busybox:pull"}}}}},
      {R"(bearer Realm = "https://r/t" , Service=svc)",
       {{"bearer", Params{{"realm", "https://r/t"}, {"service", "svc"}}}}},
      {R"(Bearer realm="https://r/t",scope="repository:a:pull,push")",
       {{"bearer", Params{{"realm", "https://r/t"}, {"scope", "repository:a:pull,push"}}}}},
      {R"(Bearer realm="a \"quoted\" \\ realm")",
       {{"bearer", Params{{"realm", R"(a "quoted" \ realm)"}}}}},
      {R"(Basic realm="x", Bearer realm="https://r/t", service="s")",
       {{"basic", Params{{"realm", "x"}}},
        {"bearer", Params{{"realm", "https://r/t"}, {"service", "s"}}}}},
      {R"(Bearer realm="https://r/t",error="insufficient_scope")",
       {{"bearer", Params{{"realm", "https://r/t"}, {"error", "insufficient_scope"}}}}},
      {"Negotiate", {{"negotiate", Params{}}}},
      {"Negotiate abc==, Basic realm=x",
       {{"negotiate", Params{{"", "abc=="}}}, {"basic", Params{{"realm", "x"}}}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.header);
    auto got = ParseWWWAuthenticate(c.header);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(WWWAuthenticateTest, RejectsMalformedHeaders) {
  for (std::string h : {"", "  ", R"(Bearer realm="unterminated)", R"(Bearer realm="a" x)", "=x"}) {
    SCOPED_TRACE(h);
    auto got = ParseWWWAuthenticate(h);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(got.status().message(), ::testing::HasSubstr("WWW-Authenticate"));
  }
}

TEST(AuthTest, Base64AndScopes) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(RepositoryScope("library/busybox", false), "repository:library/busybox:pull");
  EXPECT_EQ(RepositoryScope("a/b", true), "repository:a/b:pull,push");
}

// A token server that hands out "t1", "t2", ... and counts the requests.
class CountingTokenServer : public HttpClient {
 public:
  Result<HttpResponse> Do(const Context&, const HttpRequest&) override {
    HttpResponse r;
    r.status = 200;
    r.body = "{\"token\":\"t" + std::to_string(++fetched) + "\"}";
    return r;
  }
  int fetched = 0;
};

HttpResponse BearerChallenge() {
  HttpResponse r;
  r.status = 401;
  r.headers = {
      {"www-authenticate", "Bearer realm=\"http://auth.test/token\",service=\"reg\",scope=\"s\""}};
  return r;
}

// Parallel requests of one push all meet the first 401: a request sent before another got the
// token takes that token instead of forgetting it (push_test failed now and then in token mode:
// the second request's answer erased the first one's fresh token, whose retry then went out
// without it).
TEST(AuthTest, ARequestSentBeforeATokenCameTakesThatToken) {
  auto server = std::make_shared<CountingTokenServer>();
  Authorizer auth(server, nullptr,
                  [](const std::string&) -> Result<TlsConfig> { return TlsConfig{}; });
  Endpoint ep;
  ep.host = "reg.test";
  const std::string scope = "repository:p:pull,push";
  Context ctx = Context::Background();

  auto first = auth.Authorize(ctx, ep, scope, BearerChallenge(), std::nullopt);
  ASSERT_TRUE(first.ok() && *first) << first.status().ToString();
  EXPECT_EQ((*first)->header, "Bearer t1");
  auto second = auth.Authorize(ctx, ep, scope, BearerChallenge(), std::nullopt);
  ASSERT_TRUE(second.ok() && *second);
  EXPECT_EQ((*second)->header, "Bearer t1");
  EXPECT_EQ(server->fetched, 1);
  EXPECT_EQ(auth.Cached(ep.host, scope), "Bearer t1");

  // A refused token is forgotten and a new one fetched.
  auto third = auth.Authorize(ctx, ep, scope, BearerChallenge(), "Bearer t1");
  ASSERT_TRUE(third.ok() && *third);
  EXPECT_EQ((*third)->header, "Bearer t2");
  EXPECT_EQ(server->fetched, 2);
  EXPECT_EQ(auth.Cached(ep.host, scope), "Bearer t2");
}

}  // namespace
}  // namespace kiln::registry
