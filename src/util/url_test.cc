#include "util/url.h"

#include <gtest/gtest.h>

#include "util/git_url.h"

namespace kiln {
namespace {

TEST(UrlTest, SplitsAnAbsoluteUrlAsGoDoes) {
  auto u = ParseUrl("HTTPS://user:pw@Example.com:8443/a%20b/c.tar.gz?x=1&y=2#frag%21");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->user, "user:pw");
  EXPECT_EQ(u->host, "Example.com:8443");
  EXPECT_EQ(u->Hostname(), "Example.com");
  EXPECT_EQ(u->path, "/a b/c.tar.gz");
  EXPECT_EQ(u->raw_path, "/a%20b/c.tar.gz");
  EXPECT_EQ(u->raw_query, "x=1&y=2");
  EXPECT_EQ(u->fragment, "frag!");
  EXPECT_EQ(u->WithoutFragment(), "https://user:pw@Example.com:8443/a%20b/c.tar.gz?x=1&y=2");
  auto v6 = ParseUrl("http://[::1]:8080/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->Hostname(), "::1");
}

TEST(UrlTest, RefusesMalformedUrlsWithTheReason) {
  EXPECT_NE(ParseUrl("no-scheme/path").status().message().find("missing scheme"),
            std::string::npos);
  EXPECT_NE(ParseUrl("http://h/a%zzb").status().message().find("invalid URL escape \"%zz\""),
            std::string::npos);
  EXPECT_NE(ParseUrl("http://h:12x/").status().message().find("invalid port"), std::string::npos);
  EXPECT_NE(ParseUrl("http://h:99999/").status().message().find("invalid port \":99999\""),
            std::string::npos);
  EXPECT_TRUE(ParseUrl("http://h:65535/").ok());
  EXPECT_TRUE(ParseUrl("http://h:/").ok());  // an empty port, as Go
  EXPECT_NE(ParseUrl("http://h o/").status().message().find("in host name"), std::string::npos);
  EXPECT_NE(ParseUrl("http://h/\n").status().message().find("control character"),
            std::string::npos);
  EXPECT_FALSE(ParseUrl("1http://h/").ok());
}

TEST(UrlTest, ParsesQueriesInOrder) {
  auto q = ParseQuery("ref=main&keep-git-dir&subdir=a%2Fb+c");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ((*q)[1], std::make_pair(std::string("keep-git-dir"), std::string()));
  EXPECT_EQ((*q)[2].second, "a/b c");
  EXPECT_FALSE(ParseQuery("a=%").ok());
}

TEST(GitUrlTest, ParsesSchemesFragmentsAndScpForm) {
  auto g = ParseGitUrl("git://127.0.0.1:9418/repo.git#v1.0:sub/../dir/");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->scheme, "git");
  EXPECT_EQ(g->host, "127.0.0.1:9418");
  EXPECT_EQ(g->path, "/repo.git");
  EXPECT_EQ(g->remote, "git://127.0.0.1:9418/repo.git");
  EXPECT_TRUE(g->has_fragment);
  EXPECT_EQ(g->ref, "v1.0");
  EXPECT_EQ(g->subdir, "dir");

  auto q = ParseGitUrl("https://host/org/repo.git?ref=main#x");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->remote, "https://host/org/repo.git");
  ASSERT_EQ(q->query.size(), 1u);
  EXPECT_EQ(q->ref, "x");
  EXPECT_EQ(q->subdir, "");

  auto scp = ParseGitUrl("git@github.com:moby/buildkit.git#main:docs");
  ASSERT_TRUE(scp.ok());
  EXPECT_EQ(scp->scheme, "ssh");
  EXPECT_EQ(scp->user, "git");
  EXPECT_EQ(scp->host, "github.com");
  EXPECT_EQ(scp->path, "moby/buildkit.git");
  EXPECT_EQ(scp->remote, "git@github.com:moby/buildkit.git");
  EXPECT_EQ(scp->subdir, "docs");

  auto none = ParseGitUrl("ssh://git@host/repo.git");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_fragment);
}

TEST(GitUrlTest, TellsUnknownFromUnsupportedProtocols) {
  EXPECT_TRUE(IsGitTransport("git@host:repo"));
  EXPECT_TRUE(IsGitTransport("HTTPS://host/x"));
  EXPECT_FALSE(IsGitTransport("ftp://host/x"));
  EXPECT_TRUE(LooksLikeGitTransport("ftp://host/x"));
  EXPECT_FALSE(LooksLikeGitTransport("github.com/org/repo"));
  EXPECT_NE(ParseGitUrl("ftp://host/x").status().message().find("invalid protocol: ftp"),
            std::string::npos);
  EXPECT_NE(ParseGitUrl("host/x").status().message().find("unknown protocol"), std::string::npos);
}

}  // namespace
}  // namespace kiln
