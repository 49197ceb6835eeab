#include "source/git.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "registry/testing/http_server.h"
#include "source/git_cli.h"
#include "source/testing/temp_cache.h"
#include "util/base64.h"

namespace kiln::source {
namespace {

// A repository made by the test, fetched over file:// (the git source's code paths are the
// same for every transport; the integration test serves one with git daemon).
class GitSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tc_.root();
    src_ = std::make_unique<GitSource>(tc_.cache());
    repo_ = root_ + "/repo";
    std::filesystem::create_directories(repo_ + "/sub");
    Git({"init", "--quiet", "-b", "main"});
    Commit("a.txt", "v1\n", "first");
    Write("sub/b.txt", "in sub\n");
    Commit("sub/c.txt", "c\n", "second");
    Git({"tag", "-a", "-m", "release", "v1"});
    Git({"tag", "light"});
  }
  std::string Git(const std::vector<std::string>& args) {
    GitRun run;
    run.git_dir = repo_ + "/.git";
    run.work_tree = repo_;
    std::vector<std::string> full = {"-c", "user.name=t", "-c", "user.email=t@e"};
    full.insert(full.end(), args.begin(), args.end());
    auto out = RunGit(Context::Background(), run, full);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    std::string s = out.ok() ? *out : "";
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(repo_ + "/" + rel) << data;
  }
  void Commit(const std::string& rel, const std::string& data, const std::string& msg) {
    Write(rel, data);
    Git({"add", "-A"});
    Git({"commit", "--quiet", "-m", msg});
  }
  GitIdentifier Id(const std::string& ref, const std::string& subdir = "", bool keep = false) {
    GitIdentifier id;
    id.remote = "file://" + repo_;
    id.ref = ref;
    id.subdir = subdir;
    id.keep_git_dir = keep;
    return id;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> List(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempCache tc_;
  std::string root_, repo_;
  std::unique_ptr<GitSource> src_;
};

TEST_F(GitSourceTest, ABranchResolvesToItsCommitAndChecksOutWithoutGitDir) {
  auto r = src_->Resolve(Context::Background(), Id("main"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ref, "refs/heads/main");
  EXPECT_EQ(r->sha, Git({"rev-parse", "main"}));
  EXPECT_EQ(r->key, r->sha);
  auto ref = src_->Checkout(Context::Background(), Id("main"), *r, nullptr);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  auto m = ref->Mount();
  EXPECT_EQ(List((*m)->path()), (std::vector<std::string>{"a.txt", "sub"}));
  EXPECT_EQ(Read((*m)->path() + "/sub/b.txt"), "in sub\n");

  // The default branch when no ref is given.
  auto def = src_->Resolve(Context::Background(), Id(""));
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->ref, "refs/heads/main");
}

TEST_F(GitSourceTest, ANewCommitOnTheBranchChangesKeyAndContent) {
  auto r1 = src_->Resolve(Context::Background(), Id("main"));
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(src_->Checkout(Context::Background(), Id("main"), *r1, nullptr).ok());
  Commit("a.txt", "v2\n", "third");
  auto r2 = src_->Resolve(Context::Background(), Id("main"));
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r2->key, r1->key);
  auto ref = src_->Checkout(Context::Background(), Id("main"), *r2, nullptr);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(Read((*ref->Mount())->path() + "/a.txt"), "v2\n");
}

TEST_F(GitSourceTest, TheSharedRepositoryIsAPersistentRefThatPruneRemoves) {
  auto r = src_->Resolve(Context::Background(), Id("main"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(src_->Checkout(Context::Background(), Id("main"), *r, nullptr).ok());
  auto shared = [&]() -> std::optional<cache::UsageInfo> {
    auto usage = tc_.cache()->DiskUsage(Context::Background());
    EXPECT_TRUE(usage.ok());
    for (const auto& u : *usage) {
      if (u.rec.description == "shared git repo for file://" + repo_) return u;
    }
    return std::nullopt;
  };
  auto u = shared();
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->mutable_);
  EXPECT_EQ(u->rec.record_type, "regular");
  EXPECT_GT(u->rec.size, 0);

  cache::PruneOptions all;
  all.all = true;
  ASSERT_TRUE(tc_.cache()->Prune(Context::Background(), all, nullptr).ok());
  EXPECT_FALSE(shared().has_value());
  // The next checkout fetches into a new one.
  auto again = src_->Checkout(Context::Background(), Id("main"), *r, nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Read((*again->Mount())->path() + "/a.txt"), "v1\n");
  EXPECT_TRUE(shared().has_value());
}

TEST_F(GitSourceTest, SubdirKeepGitDirTagsAndCommits) {
  std::string head = Git({"rev-parse", "main"});
  auto sub = src_->Resolve(Context::Background(), Id("main", "sub"));
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->key, head + ":sub");
  auto sref = src_->Checkout(Context::Background(), Id("main", "sub"), *sub, nullptr);
  ASSERT_TRUE(sref.ok()) << sref.status().ToString();
  EXPECT_EQ(List((*sref->Mount())->path()), (std::vector<std::string>{"b.txt", "c.txt"}));

  // An annotated tag checks out its commit; with .git kept, HEAD is that commit.
  auto tag = src_->Resolve(Context::Background(), Id("v1", "", true));
  ASSERT_TRUE(tag.ok()) << tag.status().ToString();
  EXPECT_EQ(tag->ref, "refs/tags/v1");
  EXPECT_EQ(tag->commit, head);
  EXPECT_NE(tag->sha, head);  // the tag object
  auto kref = src_->Checkout(Context::Background(), Id("v1", "", true), *tag, nullptr);
  ASSERT_TRUE(kref.ok()) << kref.status().ToString();
  auto km = kref->Mount();
  GitRun run;
  run.git_dir = (*km)->path() + "/.git";
  auto kept_head = RunGit(Context::Background(), run, {"rev-parse", "HEAD"});
  ASSERT_TRUE(kept_head.ok()) << kept_head.status().ToString();
  EXPECT_EQ(*kept_head, head + "\n");
  auto origin = RunGit(Context::Background(), run, {"remote", "get-url", "origin"});
  EXPECT_EQ(*origin, "file://" + repo_ + "\n");

  // A full commit id needs no ls-remote.
  std::string first = Git({"rev-parse", "main~1"});
  auto c = src_->Resolve(Context::Background(), Id(first));
  ASSERT_TRUE(c.ok());
  auto cref = src_->Checkout(Context::Background(), Id(first), *c, nullptr);
  ASSERT_TRUE(cref.ok()) << cref.status().ToString();
  EXPECT_EQ(List((*cref->Mount())->path()), (std::vector<std::string>{"a.txt"}));
}

TEST_F(GitSourceTest, MtimeCommitGivesEveryFileTheCommitTime) {
  GitIdentifier id = Id("main");
  id.mtime = "commit";
  auto r = src_->Resolve(Context::Background(), id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key, r->sha + "(mtime=commit)");
  auto ref = src_->Checkout(Context::Background(), id, *r, nullptr);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  struct stat st;
  ASSERT_EQ(lstat(((*ref->Mount())->path() + "/sub/b.txt").c_str(), &st), 0);
  EXPECT_EQ(std::to_string(st.st_mtime), Git({"log", "-1", "--format=%ct", "main"}));
}

TEST_F(GitSourceTest, FetchByCommitTrustsTheChecksumWithoutAskingTheRemote) {
  std::string first = Git({"rev-parse", "main~1"});
  GitIdentifier id = Id("main");
  id.fetch_by_commit = true;
  id.checksum = first;
  GitIdentifier unreachable = id;
  unreachable.remote = "file://" + root_ + "/no-such-repo";
  auto offline = src_->Resolve(Context::Background(), unreachable);
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  EXPECT_EQ(offline->ref, "refs/heads/main");
  EXPECT_EQ(offline->sha, first);

  auto r = src_->Resolve(Context::Background(), id);
  ASSERT_TRUE(r.ok());
  auto ref = src_->Checkout(Context::Background(), id, *r, nullptr);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(List((*ref->Mount())->path()), (std::vector<std::string>{"a.txt"}));
}

TEST_F(GitSourceTest, MistakesAreClearErrors) {
  auto missing = src_->Resolve(Context::Background(), Id("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "resolve file://" + repo_ + ": the repository has no ref \"nope\"");

  auto id = Id("main");
  id.checksum = "0000000";
  auto sum = src_->Resolve(Context::Background(), id);
  ASSERT_FALSE(sum.ok());
  EXPECT_NE(sum.status().message().find("expected checksum to match 0000000, got " +
                                        Git({"rev-parse", "main"})),
            std::string::npos);

  auto r = src_->Resolve(Context::Background(), Id("main", "sub/c.txt"));
  ASSERT_TRUE(r.ok());
  auto notdir = src_->Checkout(Context::Background(), Id("main", "sub/c.txt"), *r, nullptr);
  ASSERT_FALSE(notdir.ok());
  EXPECT_NE(notdir.status().message().find("subdir \"sub/c.txt\" is not a directory"),
            std::string::npos);

  GitIdentifier gone = Id("main");
  gone.remote = "file://" + root_ + "/no-such-repo";
  auto g = src_->Resolve(Context::Background(), gone);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("resolve file://" + root_ + "/no-such-repo: git ls-remote"),
            std::string::npos)
      << g.status().message();
}

TEST_F(GitSourceTest, AHangingRemoteTimesOutOrIsCancelled) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  registry::testing::TestHttpServer server([&](const registry::testing::TestRequest&) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::seconds(20), [&] { return release; });
    return registry::testing::TestResponse{500, {}, "", true};
  });
  GitIdentifier id = Id("main");
  id.remote = server.url() + "/repo.git";
  GitSourceOptions o;
  o.command_timeout = std::chrono::seconds(1);
  GitSource quick(tc_.cache(), o);
  auto r = quick.Resolve(Context::Background(), id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("git ls-remote: no answer within 1 s"), std::string::npos);

  Context ctx = Context::Background().Child();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ctx.Cancel(Cancelled("build cancelled"));
  });
  auto c = src_->Resolve(ctx, id);
  canceller.join();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kCancelled) << c.status().ToString();
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
}

TEST_F(GitSourceTest, AnHttpsRemoteGetsTheTokenSecretAsAuthorization) {
  registry::testing::TestHttpServer server([](const registry::testing::TestRequest&) {
    return registry::testing::TestResponse{404, {}, "", false};
  });
  GitIdentifier id = Id("main");
  id.remote = server.url() + "/repo.git";
  id.auth_token_secret = "GIT_AUTH_TOKEN";
  id.auth_header_secret = "GIT_AUTH_HEADER";
  std::vector<std::string> asked;
  SecretFn secrets = [&](const std::string& name) -> Result<std::string> {
    asked.push_back(name);
    if (name == "GIT_AUTH_TOKEN." + server.host()) return std::string("tok");
    return NotFound("secret " + name + ": not found");
  };
  auto r = src_->Resolve(Context::Background(), id, secrets);
  ASSERT_FALSE(r.ok());  // the server has no repository
  EXPECT_EQ(asked, (std::vector<std::string>{"GIT_AUTH_HEADER." + server.host(),
                                             "GIT_AUTH_TOKEN." + server.host()}));
  auto reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0].Header("authorization"), "basic " + Base64Encode("x-access-token:tok"));
  EXPECT_EQ(r.status().message().find("tok"), std::string::npos);  // never in a message
}

TEST(GitIdentifierTest, ParsesTheIdentifierAndAttrsAsBuildKit) {
  pb::SourceOp op;
  op.set_identifier("git://github.com/moby/buildkit.git#v0.11.6:docs");
  auto id = ParseGit(op);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->remote, "https://github.com/moby/buildkit.git");
  EXPECT_EQ(id->ref, "v0.11.6");
  EXPECT_EQ(id->subdir, "docs");

  (*op.mutable_attrs())["git.fullurl"] = "git://127.0.0.1:9418/buildkit.git";
  (*op.mutable_attrs())["git.keepgitdir"] = "true";
  (*op.mutable_attrs())["git.authtokensecret"] = "GIT_AUTH_TOKEN";
  (*op.mutable_attrs())["git.authheadersecret"] = "GIT_AUTH_HEADER";
  id = ParseGit(op);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(GitAuthSecrets(*id).empty());  // git:// sends no headers
  auto https = *id;
  https.remote = "https://example.com:8443/r.git";
  auto names = GitAuthSecrets(https);
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].id, "GIT_AUTH_HEADER.example.com:8443");
  EXPECT_EQ(names[1].id, "GIT_AUTH_TOKEN.example.com:8443");
  EXPECT_TRUE(names[1].token);
  EXPECT_EQ(names[3].id, "GIT_AUTH_TOKEN");
  EXPECT_EQ(id->remote, "git://127.0.0.1:9418/buildkit.git");
  EXPECT_TRUE(id->keep_git_dir);
  EXPECT_EQ(GitCacheKey(*id, "abc", "refs/tags/v0.11.6"), "abc.git#refs/tags/v0.11.6:docs");

  pb::SourceOp scp;
  scp.set_identifier("git://github.com/org/repo.git");
  (*scp.mutable_attrs())["git.fullurl"] = "git@github.com:org/repo.git";
  EXPECT_EQ(ParseGit(scp)->remote, "git@github.com:org/repo.git");

  pb::SourceOp bad;
  bad.set_identifier("git://h/r.git#-upload-pack=evil");
  EXPECT_NE(ParseGit(bad).status().message().find("invalid git ref"), std::string::npos);
  bad.set_identifier("git://h/r.git");
  (*bad.mutable_attrs())["git.mtime"] = "yesterday";
  EXPECT_NE(ParseGit(bad).status().message().find("invalid git.mtime"), std::string::npos);
  (*bad.mutable_attrs())["git.mtime"] = "checkout";
  (*bad.mutable_attrs())["git.bundle"] = "x";
  EXPECT_EQ(ParseGit(bad).status().code(), Code::kUnimplemented);
  bad.clear_attrs();
  (*bad.mutable_attrs())["git.checksum"] = "not-hex";
  EXPECT_NE(ParseGit(bad).status().message().find(
                "invalid checksum not-hex for Git URL, expected hex commit hash"),
            std::string::npos);
  bad.set_identifier("git://h:bad/r.git");
  bad.clear_attrs();
  EXPECT_FALSE(ParseGit(bad).ok());
  EXPECT_TRUE(IsCommitSha(std::string(40, 'a')));
  EXPECT_FALSE(IsCommitSha(std::string(40, 'A')));
  EXPECT_FALSE(IsCommitSha("abc"));
}

}  // namespace
}  // namespace kiln::source
