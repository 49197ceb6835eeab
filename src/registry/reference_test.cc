#include "registry/reference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::registry {
namespace {

using ::testing::HasSubstr;

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Good {
  std::string in;
  std::string domain, path, tag, digest;
  std::string full, familiar;
};

TEST(ReferenceTest, NormalisesAsDocker) {
  const Good cases[] = {
      {"busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest",
       "busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", "", "docker.io/library/busybox:1.36",
       "busybox:1.36"},
      {"user/app", "docker.io", "user/app", "latest", "", "docker.io/user/app:latest",
       "user/app:latest"},
      {"docker.io/library/alpine:3", "docker.io", "library/alpine", "3", "",
       "docker.io/library/alpine:3", "alpine:3"},
      {"index.docker.io/library/alpine", "docker.io", "library/alpine", "latest", "",
       "docker.io/library/alpine:latest", "alpine:latest"},
      {"docker.io/alpine", "docker.io", "library/alpine", "latest", "",
       "docker.io/library/alpine:latest", "alpine:latest"},
      {"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest",
       "localhost/app:latest"},
      {"localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", "", "localhost:5000/a/b/c:v1",
       "localhost:5000/a/b/c:v1"},
      {"ghcr.io/owner/repo:tag-1.2_x", "ghcr.io", "owner/repo", "tag-1.2_x", "",
       "ghcr.io/owner/repo:tag-1.2_x", "ghcr.io/owner/repo:tag-1.2_x"},
      {"127.0.0.1:5000/img", "127.0.0.1:5000", "img", "latest", "", "127.0.0.1:5000/img:latest",
       "127.0.0.1:5000/img:latest"},
      {"[::1]:5000/img:t", "[::1]:5000", "img", "t", "", "[::1]:5000/img:t", "[::1]:5000/img:t"},
      {"Registry/app", "Registry", "app", "latest", "", "Registry/app:latest",
       "Registry/app:latest"},
      {"busybox@sha256:" + kHex, "docker.io", "library/busybox", "", "sha256:" + kHex,
       "docker.io/library/busybox@sha256:" + kHex, "busybox@sha256:" + kHex},
      {"busybox:1.36@sha256:" + kHex, "docker.io", "library/busybox", "1.36", "sha256:" + kHex,
       "docker.io/library/busybox:1.36@sha256:" + kHex, "busybox:1.36@sha256:" + kHex},
      {"localhost:5000/app@sha256:" + kHex, "localhost:5000", "app", "", "sha256:" + kHex,
       "localhost:5000/app@sha256:" + kHex, "localhost:5000/app@sha256:" + kHex},
      {"a.b/c__d/e-f--g.h", "a.b", "c__d/e-f--g.h", "latest", "", "a.b/c__d/e-f--g.h:latest",
       "a.b/c__d/e-f--g.h:latest"},
      {"localhost:5000", "docker.io", "library/localhost", "5000", "",
       "docker.io/library/localhost:5000", "localhost:5000"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto r = ParseReference(c.in);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->domain, c.domain);
    EXPECT_EQ(r->path, c.path);
    EXPECT_EQ(r->tag, c.tag);
    EXPECT_EQ(r->digest.str(), c.digest);
    EXPECT_EQ(r->String(), c.full);
    EXPECT_EQ(r->Familiar(), c.familiar);
    EXPECT_EQ(r->Name(), c.domain + "/" + c.path);
    EXPECT_EQ(r->TagOrDigest(), c.digest.empty() ? c.tag : c.digest);
  }
}

TEST(ReferenceTest, RejectsWithTheReferenceAndTheReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "at least one component"},
      {"Busybox", "must be lowercase"},
      {"docker.io/Library/busybox", "must be lowercase"},
      {kHex, "64-byte hexadecimal"},
      {"busybox:", "invalid tag"},
      {"busybox:-x", "invalid tag"},
      {"busybox:" + std::string(129, 'a'), "invalid tag"},
      {"busybox@sha256:abc", "invalid digest"},
      {"busybox@md5:" + kHex.substr(0, 32), "unsupported digest algorithm"},
      {"busybox@" + kHex, "invalid digest format"},
      {"a//b", "empty path component"},
      {"-foo/bar", "invalid path component \"-foo\""},
      {"-foo.com/bar", "invalid registry host"},
      {"host:port/app", "invalid registry host"},
      {"example.com/a_-b", "invalid path component"},
      {"example.com/app/", "empty path component"},
      {"example.com/" + std::string(250, 'a'), "255 characters"},
      {"busybox with space", "invalid path component"},
      {"a/b c", "invalid path component"},
  };
  for (const auto& [in, why] : cases) {
    SCOPED_TRACE(in);
    auto r = ParseReference(in);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("invalid reference \"" + in.substr(0, 300)));
    EXPECT_THAT(r.status().message(), HasSubstr(why));
  }
}

}  // namespace
}  // namespace kiln::registry
