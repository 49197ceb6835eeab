// ADD from URLs and git refs: the LLB the converter makes and the errors it gives.
#include "frontend/dockerfile/dockerfile2llb/remote_source.h"

#include <gtest/gtest.h>

#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "frontend/dockerfile/dockerfile2llb/git_ref.h"

namespace kiln::dockerfile {
namespace {

const std::string kSum = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

// The ops of a converted Dockerfile.
std::vector<pb::Op> Convert(const std::string& dockerfile, Status* err = nullptr) {
  auto r = Dockerfile2LLB(dockerfile, ConvertOptions{});
  if (err != nullptr) *err = r.ok() ? Status::Ok() : r.status();
  std::vector<pb::Op> ops;
  if (!r.ok()) return ops;
  for (const auto& bytes : r->definition.def()) {
    pb::Op op;
    EXPECT_TRUE(op.ParseFromString(bytes));
    ops.push_back(op);
  }
  return ops;
}

const pb::Op* Find(const std::vector<pb::Op>& ops, pb::Op::OpCase c) {
  for (const auto& op : ops) {
    if (op.op_case() == c) return &op;
  }
  return nullptr;
}

std::string Error(const std::string& dockerfile) {
  Status s;
  Convert(dockerfile, &s);
  EXPECT_FALSE(s.ok()) << dockerfile;
  return s.message();
}

TEST(RemoteSourceTest, AddUrlIsAnHttpSourceNamedAfterTheUrlCopiedWithoutUnpacking) {
  auto ops = Convert(
      "FROM scratch\nADD --chmod=644 --chown=1:2 https://example.com/d/app.tgz "
      "/opt/\n");
  const pb::Op* src = Find(ops, pb::Op::kSource);
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->source().identifier(), "https://example.com/d/app.tgz");
  EXPECT_EQ(src->source().attrs().at("http.filename"), "app.tgz");
  EXPECT_EQ(src->source().attrs().count("http.checksum"), 0u);
  const pb::Op* file = Find(ops, pb::Op::kFile);
  ASSERT_NE(file, nullptr);
  const auto& cp = file->file().actions(0).copy();
  EXPECT_EQ(cp.src(), "/app.tgz");
  EXPECT_EQ(cp.dest(), "/opt/");
  EXPECT_EQ(cp.mode(), 0644);
  EXPECT_EQ(cp.owner().user().byid(), 1u);
  EXPECT_FALSE(cp.attemptunpackdockercompatibility());
  EXPECT_FALSE(cp.allowwildcard());
  EXPECT_TRUE(cp.createdestpath());
}

TEST(RemoteSourceTest, ChecksumPinsTheHttpSource) {
  auto ops = Convert("FROM scratch\nADD --checksum=" + kSum + " http://h/ /f\n");
  const pb::Op* src = Find(ops, pb::Op::kSource);
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->source().attrs().at("http.checksum"), kSum);
  EXPECT_EQ(src->source().attrs().at("http.filename"), "__unnamed__");
}

TEST(RemoteSourceTest, ChecksumAndUrlMisuseAreErrors) {
  EXPECT_NE(Error("FROM scratch\nADD --checksum=sha256:abc http://h/f /f\n")
                .find("invalid checksum \"sha256:abc\""),
            std::string::npos);
  EXPECT_NE(Error("FROM scratch\nADD --checksum=" + kSum + " local.txt /f\n")
                .find("checksum requires HTTP(S) or Git sources"),
            std::string::npos);
  EXPECT_NE(Error("FROM scratch\nADD --checksum=" + kSum + " http://h/a http://h/b /d/\n")
                .find("checksum can't be specified for multiple sources"),
            std::string::npos);
  EXPECT_NE(Error("FROM scratch\nCOPY http://h/a /d/\n").find("source can't be a URL for COPY"),
            std::string::npos);
  EXPECT_NE(
      Error("FROM scratch\nCOPY git://h/r.git /d/\n").find("source can't be a git ref for COPY"),
      std::string::npos);
  EXPECT_NE(Error("FROM scratch\nADD https://h/r.git?bogus=1 /d/\n").find("unexpected query"),
            std::string::npos);
}

TEST(RemoteSourceTest, AddGitRefIsAGitSourceCopiedFromItsRoot) {
  auto ops =
      Convert("FROM scratch\nADD --keep-git-dir git://127.0.0.1:9418/repo.git#v1:sub /src\n");
  const pb::Op* src = Find(ops, pb::Op::kSource);
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->source().identifier(), "git://127.0.0.1:9418/repo.git#v1:sub");
  const auto& attrs = src->source().attrs();
  EXPECT_EQ(attrs.at("git.fullurl"), "git://127.0.0.1:9418/repo.git");
  EXPECT_EQ(attrs.at("git.keepgitdir"), "true");
  EXPECT_EQ(attrs.count("git.mountsshsock"), 0u);
  const auto& cp = Find(ops, pb::Op::kFile)->file().actions(0).copy();
  EXPECT_EQ(cp.src(), "/");
  EXPECT_EQ(cp.dest(), "/src");
  EXPECT_FALSE(cp.dircopycontents());

  auto ssh = Convert("FROM scratch\nADD git@github.com:org/repo.git#main /src\n");
  const pb::Op* s2 = Find(ssh, pb::Op::kSource);
  ASSERT_NE(s2, nullptr);
  EXPECT_EQ(s2->source().identifier(), "git://github.com/org/repo.git#main");
  EXPECT_EQ(s2->source().attrs().at("git.fullurl"), "git@github.com:org/repo.git");
  EXPECT_EQ(s2->source().attrs().at("git.mountsshsock"), "default");
  EXPECT_EQ(s2->source().attrs().count("git.keepgitdir"), 0u);

  // An https URL ending in .git is a git ref, not a download.
  auto https = Convert("FROM scratch\nADD https://h/org/r.git?branch=dev /src\n");
  EXPECT_EQ(Find(https, pb::Op::kSource)->source().identifier(),
            "git://h/org/r.git#refs/heads/dev");
  EXPECT_NE(Error("FROM scratch\nADD --keep-git-dir=false https://h/r.git?keep-git-dir=1 /s\n")
                .find("inconsistent keep-git-dir configuration"),
            std::string::npos);
}

TEST(GitRefTest, ParsesAsBuildKitsDfgitutil) {
  auto p = ParseGitRef("https://github.com/foo/bar.git#baz/qux:quux/quuz");
  ASSERT_TRUE(p.ref.has_value()) << p.error.ToString();
  EXPECT_EQ(p.ref->remote, "https://github.com/foo/bar.git");
  EXPECT_EQ(p.ref->short_name, "bar");
  EXPECT_EQ(p.ref->ref, "baz/qux");
  EXPECT_EQ(p.ref->subdir, "quux/quuz");
  EXPECT_FALSE(p.ref->unencrypted_tcp);

  auto q = ParseGitRef("git://host/r.git?tag=v1&subdir=d&checksum=abc&keep-git-dir");
  ASSERT_TRUE(q.ref.has_value()) << q.error.ToString();
  EXPECT_EQ(q.ref->ref, "refs/tags/v1");
  EXPECT_EQ(q.ref->subdir, "d");
  EXPECT_EQ(q.ref->checksum, "abc");
  EXPECT_EQ(q.ref->keep_git_dir, std::optional<bool>(true));
  EXPECT_TRUE(q.ref->unencrypted_tcp);

  auto gh = ParseGitRef("github.com/foo/bar");
  ASSERT_TRUE(gh.ref.has_value());
  EXPECT_TRUE(gh.ref->indistinguishable_from_local);
  EXPECT_EQ(gh.ref->remote, "github.com/foo/bar");

  for (const char* not_git : {"./x", "file.txt", "https://h/file.tgz", "ftp://h/r.git"}) {
    auto n = ParseGitRef(not_git);
    EXPECT_FALSE(n.is_git) << not_git;
    EXPECT_FALSE(n.ref.has_value()) << not_git;
  }
  auto bad = ParseGitRef("git://h/r.git?tag=a&branch=b");
  EXPECT_TRUE(bad.is_git);
  EXPECT_EQ(bad.error.message(), "branch conflicts with tag");
  EXPECT_TRUE(IsHttpSource("https://h/file.tgz"));
  EXPECT_FALSE(IsHttpSource("https://h/r.git"));
  EXPECT_TRUE(IsGitSource("https://h/r.git"));
}

}  // namespace
}  // namespace kiln::dockerfile
