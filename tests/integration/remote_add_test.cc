// ADD from URLs and git repositories end to end: kilnd's http(s):// and git:// sources behind
// the Dockerfile frontend, against a scripted HTTP server and `git daemon` on 127.0.0.1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "registry/testing/http_server.h"
#include "util/digest.h"

namespace kiln::itest {
namespace {

using registry::testing::TestHttpServer;
using registry::testing::TestRequest;
using registry::testing::TestResponse;

class RemoteAddTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
    ctx_ = MakeTempDir("kiln-radd-ctx");
    out_ = MakeTempDir("kiln-radd-out");
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
    std::filesystem::remove_all(ctx_);
    std::filesystem::remove_all(out_);
  }

  RunResult Build(const std::string& dockerfile, const std::vector<std::string>& extra = {}) {
    WriteFile(ctx_ + "/Dockerfile", dockerfile);
    std::filesystem::remove_all(out_);
    std::vector<std::string> args = {
        "build",    "--progress=plain",       "--frontend", "dockerfile.v0",
        "--local",  "context=" + ctx_,        "--local",    "dockerfile=" + ctx_,
        "--output", "type=local,dest=" + out_};
    args.insert(args.end(), extra.begin(), extra.end());
    return daemon_.Kilnctl(args);
  }
  int Mode(const std::string& rel) {
    struct stat st = {};
    if (lstat((out_ + "/" + rel).c_str(), &st) != 0) return -1;
    return static_cast<int>(st.st_mode & 07777);
  }

  Daemon daemon_;
  std::string ctx_, out_;
};

// Files served with ETags, answering If-None-Match; the content can change mid-test.
struct Files {
  std::mutex mu;
  std::map<std::string, std::pair<std::string, std::string>> files;  // path -> (body, etag)
  TestResponse Serve(const TestRequest& r) {
    std::lock_guard<std::mutex> l(mu);
    auto it = files.find(r.path);
    if (it == files.end()) return TestResponse{404, {}, "not found", false};
    TestResponse resp;
    resp.headers = {{"ETag", it->second.second},
                    {"Last-Modified", "Tue, 15 Nov 1994 08:12:31 GMT"}};
    if (r.Header("if-none-match").find(it->second.second) != std::string::npos) {
      resp.status = 304;
    } else {
      resp.body = it->second.first;
    }
    return resp;
  }
};

TEST_F(RemoteAddTest, AddUrlDownloadsOnceAndRevalidatesWithTheEtag) {
  Files files;
  files.files["/files/hello.txt"] = {"hello from http\n", "\"v1\""};
  files.files["/files/pinned.bin"] = {"pinned bytes", "\"p1\""};
  TestHttpServer server([&](const TestRequest& r) { return files.Serve(r); });
  std::string pinned = Digest::FromBytes("pinned bytes").str();
  const std::string u = server.url() + "/files";
  std::string df = "FROM scratch\n";
  df += "ADD " + u + "/hello.txt /\n";
  df += "ADD " + u + "/hello.txt /renamed.txt\n";
  df += "ADD --chmod=755 --chown=12:34 " + u + "/hello.txt /dir/\n";
  df += "ADD --checksum=" + pinned + " " + u + "/pinned.bin /p/\n";
  auto r = Build(df);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/hello.txt"), "hello from http\n");
  EXPECT_EQ(Mode("hello.txt"), 0600);  // what BuildKit's http source writes
  EXPECT_EQ(ReadFile(out_ + "/renamed.txt"), "hello from http\n");
  EXPECT_EQ(ReadFile(out_ + "/dir/hello.txt"), "hello from http\n");
  EXPECT_EQ(Mode("dir/hello.txt"), 0755);
  EXPECT_EQ(ReadFile(out_ + "/p/pinned.bin"), "pinned bytes");
  struct stat st = {};
  ASSERT_EQ(lstat((out_ + "/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 784887151);                      // Last-Modified
  EXPECT_EQ(server.Count("GET", "/files/hello.txt"), 1);  // one source for the three ADDs
  EXPECT_EQ(server.Count("GET", "/files/pinned.bin"), 1);

  // Again: the server is asked whether hello.txt changed (it did not) and is not asked for the
  // pinned file at all; every step is cached.
  auto again = Build(df);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadFile(out_ + "/dir/hello.txt"), "hello from http\n");
  EXPECT_EQ(server.Count("GET", "/files/hello.txt"), 1);
  EXPECT_EQ(server.Count("HEAD", "/files/hello.txt"), 1);
  EXPECT_EQ(server.Count("GET", "/files/pinned.bin") + server.Count("HEAD", "/files/pinned.bin"),
            1);
  bool conditional = false;
  for (const auto& req : server.requests()) {
    if (req.method == "HEAD" && req.Header("if-none-match") == "\"v1\"") conditional = true;
  }
  EXPECT_TRUE(conditional);
  EXPECT_NE(again.err.find("CACHED"), std::string::npos) << again.err;

  // A new version is downloaded and reaches the output.
  {
    std::lock_guard<std::mutex> l(files.mu);
    files.files["/files/hello.txt"] = {"version two\n", "\"v2\""};
  }
  auto third = Build(df);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(ReadFile(out_ + "/hello.txt"), "version two\n");
  EXPECT_EQ(server.Count("GET", "/files/hello.txt"), 2);
}

// ADD --unpack=true extracts a downloaded archive into the destination (Dockerfile 1.17);
// without it, or with false, the archive is kept as one file, as without the flag.
TEST_F(RemoteAddTest, AddUnpackExtractsADownloadedArchiveOnlyWhenAsked) {
  std::string src = MakeTempDir("kiln-radd-tar");
  WriteFile(src + "/top.txt", "top\n");
  WriteFile(src + "/d/in.txt", "in\n");
  auto tar = itest::Run({"tar", "-czf", ctx_ + "/a.tar.gz", "-C", src, "top.txt", "d"});
  std::filesystem::remove_all(src);
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  Files files;
  files.files["/dl/a.tar.gz"] = {ReadFile(ctx_ + "/a.tar.gz"), "\"t1\""};
  TestHttpServer server([&](const TestRequest& r) { return files.Serve(r); });
  const std::string u = server.url() + "/dl/a.tar.gz";
  std::string df = "FROM scratch\n";
  df += "ADD --unpack=true " + u + " /x/\n";
  df += "ADD --unpack " + u + " /y\n";
  df += "ADD --unpack=false " + u + " /z/\n";
  df += "ADD " + u + " /w/\n";
  df += "ADD --unpack=false a.tar.gz /local/\n";
  auto r = Build(df);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/x/top.txt"), "top\n");
  EXPECT_EQ(ReadFile(out_ + "/x/d/in.txt"), "in\n");
  EXPECT_EQ(ReadFile(out_ + "/y/top.txt"), "top\n");
  EXPECT_EQ(Mode("x/a.tar.gz"), -1);
  EXPECT_EQ(ReadFile(out_ + "/z/a.tar.gz"), files.files["/dl/a.tar.gz"].first);
  EXPECT_EQ(Mode("z/top.txt"), -1);
  EXPECT_EQ(ReadFile(out_ + "/w/a.tar.gz"), files.files["/dl/a.tar.gz"].first);
  EXPECT_EQ(ReadFile(out_ + "/local/a.tar.gz"), files.files["/dl/a.tar.gz"].first);
  EXPECT_EQ(Mode("local/top.txt"), -1);

  auto bad = Build("FROM scratch\nADD --unpack=yes " + u + " /x/\n");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("expecting boolean value for flag unpack, not: yes"), std::string::npos)
      << bad.err;
}

TEST_F(RemoteAddTest, AddUrlErrorsNameTheUrl) {
  Files files;
  files.files["/f.txt"] = {"actual", "\"a\""};
  TestHttpServer server([&](const TestRequest& r) { return files.Serve(r); });
  std::string wrong = Digest::FromBytes("expected").str();
  auto mismatch =
      Build("FROM scratch\nADD --checksum=" + wrong + " " + server.url() + "/f.txt /\n");
  EXPECT_NE(mismatch.exit_code, 0);
  EXPECT_NE(mismatch.err.find("digest mismatch for " + server.url() + "/f.txt: downloaded " +
                              Digest::FromBytes("actual").str() + ", expected " + wrong),
            std::string::npos)
      << mismatch.err;

  auto missing = Build("FROM scratch\nADD " + server.url() + "/nope.txt /\n");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find(server.url() + "/nope.txt: the server answered with HTTP status 404"),
            std::string::npos)
      << missing.err;

  // A URL that needs a token gets it from the client's HTTP_AUTH_TOKEN_<host> secret.
  TestHttpServer private_server([](const TestRequest& r) {
    if (r.Header("authorization") != "Bearer s3cret") return TestResponse{401, {}, "", false};
    return TestResponse{200, {}, "private bytes", false};
  });
  std::string add_private = "FROM scratch\nADD " + private_server.url() + "/priv.txt /\n";
  auto denied = Build(add_private);
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("HTTP status 401"), std::string::npos) << denied.err;
  WriteFile(ctx_ + "/token", "s3cret");
  auto allowed =
      Build(add_private, {"--secret", "id=HTTP_AUTH_TOKEN_127.0.0.1,src=" + ctx_ + "/token"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(ReadFile(out_ + "/priv.txt"), "private bytes");

  auto badsum = Build("FROM scratch\nADD --checksum=sha256:xyz " + server.url() + "/f.txt /\n");
  EXPECT_NE(badsum.exit_code, 0);
  EXPECT_NE(badsum.err.find("invalid checksum \"sha256:xyz\""), std::string::npos) << badsum.err;
}

// A repository served by `git daemon` on 127.0.0.1.
class GitServer {
 public:
  GitServer() : dir_(MakeTempDir("kiln-radd-git")) {
    work_ = dir_ + "/work";
    std::filesystem::create_directories(work_ + "/sub");
    Git({"init", "--quiet", "-b", "main"});
    Commit("a.txt", "v1\n");
    WriteFile(work_ + "/sub/b.txt", "in sub\n");
    Commit("sub/c.txt", "c\n");
    Git({"tag", "-a", "-m", "release", "v1"});
    Run({"git", "clone", "--quiet", "--bare", work_, dir_ + "/srv/repo.git"});
    port_ = registry::testing::UnusedPort();
    pid_ = fork();
    if (pid_ == 0) {
      // Its complaints about the readiness probe's empty connections go to a file.
      int log = open((dir_ + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) dup2(log, 2);
      execlp("git", "git", "daemon", "--export-all", ("--base-path=" + dir_ + "/srv").c_str(),
             "--listen=127.0.0.1", ("--port=" + std::to_string(port_)).c_str(), "--reuseaddr",
             (dir_ + "/srv").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && !Listening(); i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~GitServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  std::string url() const { return "git://127.0.0.1:" + std::to_string(port_) + "/repo.git"; }
  std::string Git(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"git",         "-C", work_,           "-c",
                                     "user.name=t", "-c", "user.email=t@e"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = Run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  void Commit(const std::string& rel, const std::string& data) {
    WriteFile(work_ + "/" + rel, data);
    Git({"add", "-A"});
    Git({"commit", "--quiet", "-m", "change " + rel});
  }
  // Pushes the work repository's main to the served one.
  void Push() { Git({"push", "--quiet", dir_ + "/srv/repo.git", "main"}); }
  bool Listening() const {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
  }

 private:
  std::string dir_, work_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(RemoteAddTest, AddGitRefsFromAGitDaemon) {
  GitServer git;
  ASSERT_TRUE(git.Listening());
  const std::string u = git.url();
  const std::string first = git.Git({"rev-parse", "main~1"});
  std::string df = "FROM scratch\n";
  df += "ADD " + u + " /default/\n";
  df += "ADD " + u + "#" + first + " /commit/\n";
  df += "ADD " + u + "#v1 /tag/\n";
  df += "ADD " + u + "#main:sub /sub/\n";
  df += "ADD --keep-git-dir " + u + "#main /kept/\n";
  auto r = Build(df);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/tag/a.txt"), "v1\n");
  EXPECT_FALSE(std::filesystem::exists(out_ + "/tag/.git"));
  EXPECT_EQ(ReadFile(out_ + "/default/sub/b.txt"), "in sub\n");  // the default branch, main
  EXPECT_EQ(ReadFile(out_ + "/commit/a.txt"), "v1\n");           // a commit fetched by id
  EXPECT_FALSE(std::filesystem::exists(out_ + "/commit/sub"));
  EXPECT_EQ(ReadFile(out_ + "/sub/b.txt"), "in sub\n");
  EXPECT_FALSE(std::filesystem::exists(out_ + "/sub/a.txt"));
  auto head = itest::Run({"git", "--git-dir", out_ + "/kept/.git", "rev-parse", "HEAD"});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_EQ(head.out, git.Git({"rev-parse", "main"}) + "\n");

  // A new commit on main reaches the steps that follow main; the tag's step stays cached.
  git.Commit("a.txt", "v2\n");
  git.Push();
  auto again = Build(df);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadFile(out_ + "/kept/a.txt"), "v2\n");
  EXPECT_EQ(ReadFile(out_ + "/tag/a.txt"), "v1\n");
  head = itest::Run({"git", "--git-dir", out_ + "/kept/.git", "rev-parse", "HEAD"});
  EXPECT_EQ(head.out, git.Git({"rev-parse", "main"}) + "\n");

  auto missing = Build("FROM scratch\nADD " + git.url() + "#no-such-branch /x/\n");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("the repository has no ref \"no-such-branch\""), std::string::npos)
      << missing.err;
}

// Named contexts (--opt context:NAME=...) from a git repository and from a URL, as dockerui
// loads them: the repository's tree, and a tree with the downloaded file as /context.
TEST_F(RemoteAddTest, NamedContextsFromGitAndHttp) {
  GitServer git;
  ASSERT_TRUE(git.Listening());
  Files files;
  files.files["/notes.txt"] = {"notes\n", "\"n1\""};
  TestHttpServer server([&](const TestRequest& r) { return files.Serve(r); });
  std::string df = "FROM scratch\n";
  df += "COPY --from=repo /a.txt /from-git/\n";
  df += "COPY --from=sub / /from-subdir/\n";
  df += "COPY --from=notes /context /notes.txt\n";
  auto r = Build(df, {"--opt", "context:repo=" + git.url() + "#v1", "--opt",
                      "context:sub=" + git.url() + "#main:sub", "--opt",
                      "context:notes=" + server.url() + "/notes.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/from-git/a.txt"), "v1\n");
  EXPECT_EQ(ReadFile(out_ + "/from-subdir/b.txt"), "in sub\n");
  EXPECT_EQ(ReadFile(out_ + "/from-subdir/c.txt"), "c\n");
  EXPECT_EQ(ReadFile(out_ + "/notes.txt"), "notes\n");

  auto bad = Build(df, {"--opt", "context:repo=git@:nothing"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("git"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace kiln::itest
