#include "source/http_identifier.h"

#include <gtest/gtest.h>

namespace kiln::source {
namespace {

pb::SourceOp Op(const std::string& url, std::map<std::string, std::string> attrs = {}) {
  pb::SourceOp op;
  op.set_identifier(url);
  for (const auto& [k, v] : attrs) (*op.mutable_attrs())[k] = v;
  return op;
}

const char kSum[] = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

TEST(HttpIdentifierTest, ReadsTheAttrsBuildKitSets) {
  auto id = ParseHttp(Op("https://example.com/a/file.tgz", {{"http.checksum", kSum},
                                                            {"http.filename", "renamed.tgz"},
                                                            {"http.perm", "0755"},
                                                            {"http.uid", "1000"},
                                                            {"http.gid", "0x10"},
                                                            {"http.header.user-agent", "ua"},
                                                            {"http.header.accept", "text/plain"},
                                                            {"http.header.x-other", "dropped"},
                                                            {"some.future.attr", "ignored"}}));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->checksum.str(), kSum);
  EXPECT_EQ(id->filename, "renamed.tgz");
  EXPECT_EQ(id->perm, 0755u);
  EXPECT_EQ(id->uid, 1000u);
  EXPECT_EQ(id->gid, 16u);
  ASSERT_EQ(id->headers.size(), 2u);
  EXPECT_EQ(id->headers[0], std::make_pair(std::string("Accept"), std::string("text/plain")));
  EXPECT_EQ(id->headers[1].first, "User-Agent");
}

TEST(HttpIdentifierTest, DefaultsToMode0600AndNoChecksum) {
  auto id = ParseHttp(Op("http://127.0.0.1:8080/x", {{"http.perm", "0"}}));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->perm, 0600u);
  EXPECT_TRUE(id->checksum.empty());
}

TEST(HttpIdentifierTest, BadValuesAreClearErrors) {
  auto msg = [](const pb::SourceOp& op) { return ParseHttp(op).status().message(); };
  EXPECT_NE(msg(Op("http://h/x", {{"http.checksum", "md5:abc"}}))
                .find("invalid http.checksum \"md5:abc\" (want sha256:<64 hex digits>)"),
            std::string::npos);
  EXPECT_NE(msg(Op("http://h/x", {{"http.perm", "rwx"}})).find("invalid http.perm \"rwx\""),
            std::string::npos);
  EXPECT_NE(msg(Op("http://h/x", {{"http.perm", "017777"}})).find("invalid http.perm"),
            std::string::npos);
  EXPECT_NE(msg(Op("http://h/x", {{"http.uid", "-1"}})).find("invalid http.uid"),
            std::string::npos);
  EXPECT_NE(msg(Op("http://h/x", {{"http.gid", "99999999999"}})).find("invalid http.gid"),
            std::string::npos);
  EXPECT_NE(msg(Op("http://h:port/x")).find("invalid port"), std::string::npos);
  EXPECT_NE(msg(Op("http:///x")).find("has no host"), std::string::npos);
  EXPECT_EQ(ParseHttp(Op("http://h/x", {{"http.sig.pubkey", "k"}})).status().code(),
            Code::kUnimplemented);
}

TEST(HttpIdentifierTest, FileNameComesFromAttrThenDispositionThenUrl) {
  auto id = *ParseHttp(Op("http://h/dir/a%20file.txt?q=1"));
  EXPECT_EQ(HttpFileName(id, ""), "a file.txt");
  EXPECT_EQ(HttpFileName(id, "attachment; filename=\"../evil/../name.bin\""), "name.bin");
  EXPECT_EQ(HttpFileName(id, "attachment; filename=plain.bin; size=3"), "plain.bin");
  EXPECT_EQ(HttpFileName(id, "attachment; filename*=UTF-8''caf%C3%A9.txt"), "caf\xC3\xA9.txt");
  EXPECT_EQ(HttpFileName(id, "attachment; filename=\"dir/\""), "a file.txt");
  id.filename = "/abs/manual";
  EXPECT_EQ(HttpFileName(id, "attachment; filename=x"), "manual");
  id.filename = "..";
  EXPECT_EQ(HttpFileName(id, ""), "download");
  EXPECT_EQ(HttpFileName(*ParseHttp(Op("http://h/")), ""), "download");
  EXPECT_EQ(HttpFileName(*ParseHttp(Op("http://h")), ""), "download");
}

TEST(HttpIdentifierTest, AuthSecretsAreNamedAfterTheHostOrTheAttr) {
  auto by_host = HttpAuthSecrets(*ParseHttp(Op("https://files.example.com:8443/x")));
  ASSERT_EQ(by_host.size(), 2u);
  EXPECT_EQ(by_host[0].id, "HTTP_AUTH_HEADER_files.example.com");
  EXPECT_FALSE(by_host[0].token);
  EXPECT_EQ(by_host[1].id, "HTTP_AUTH_TOKEN_files.example.com");
  EXPECT_TRUE(by_host[1].token);
  EXPECT_FALSE(by_host[1].required);
  auto named = HttpAuthSecrets(*ParseHttp(Op("https://h/x", {{"http.authheadersecret", "MINE"}})));
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].id, "MINE");
  EXPECT_TRUE(named[0].required);
}

TEST(HttpIdentifierTest, KeysChangeWithWhatShapesTheFile) {
  auto id = *ParseHttp(Op("http://h/x"));
  Digest c = Digest::FromBytes("content");
  Digest k = HttpCacheKey(id, "x", c, "");
  EXPECT_NE(k, HttpCacheKey(id, "y", c, ""));
  EXPECT_NE(k, HttpCacheKey(id, "x", Digest::FromBytes("other"), ""));
  EXPECT_NE(k, HttpCacheKey(id, "x", c, "Mon, 02 Jan 2006 15:04:05 GMT"));
  auto other = id;
  other.perm = 0644;
  EXPECT_NE(k, HttpCacheKey(other, "x", c, ""));
  EXPECT_NE(HttpUrlHash(id), HttpUrlHash(other));
  other = id;
  other.url = "http://h/y";
  EXPECT_NE(HttpUrlHash(id), HttpUrlHash(other));
}

}  // namespace
}  // namespace kiln::source
