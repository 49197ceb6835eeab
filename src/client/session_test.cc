// The client's build flow against an in-process fake daemon (testing/fake_daemon.h): the
// session tunnel and the services kilnctl serves in it, Control.Solve/Status, and the
// client-side frontend phase over LLBBridge.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "client/build.h"
#include "client/connection.h"
#include "client/testing/fake_daemon.h"
#include "client/tree_merge.h"
#include "content/testing/temp_store.h"
#include "util/base64.h"

namespace kiln::client {
namespace {

namespace bk = moby::buildkit::v1;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

std::string ReadFile(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) { std::ofstream(path) << data; }

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-client-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* d : {"/ctx", "/ctx/sub", "/pulled", "/exported", "/out"}) {
      ASSERT_EQ(mkdir((root_ + d).c_str(), 0755), 0);
    }
    WriteFile(root_ + "/ctx/Dockerfile", "FROM scratch\n");
    WriteFile(root_ + "/ctx/sub/data.txt", "payload");
    WriteFile(root_ + "/exported/result.txt", "built!");
    daemon_ = std::make_unique<testing::FakeDaemon>(root_, root_ + "/pulled");
    ASSERT_TRUE(daemon_->Start().ok());
    auto channel = Dial(daemon_->address());
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    conn_ = std::move(*channel);
  }

  void TearDown() override {
    conn_.reset();
    daemon_.reset();
    RemoveTree(root_).IgnoreError();
  }

  // A build of a one-op definition that uses local://context.
  BuildRequest DefinitionRequest() {
    pb::Op src;
    src.mutable_source()->set_identifier("local://context");
    pb::Op ret;
    BuildRequest req;
    req.definition.emplace();
    req.definition->add_def(src.SerializeAsString());
    req.definition->add_def(ret.SerializeAsString());
    req.local_dirs = {{"context", root_ + "/ctx"}};
    return req;
  }

  Result<BuildResponse> RunBuild(const BuildRequest& req,
                                 const Context& ctx = Context::Background()) {
    return Build(ctx, *conn_, req, [this](const bk::StatusResponse& s) { statuses_.push_back(s); });
  }

  std::string root_;
  std::unique_ptr<testing::FakeDaemon> daemon_;
  std::unique_ptr<rpc::Connection> conn_;
  std::vector<bk::StatusResponse> statuses_;
};

TEST_F(SessionTest, LocalDirIsSentAndLocalOutputIsMergedIntoDest) {
  WriteFile(root_ + "/out/keep.txt", "mine");
  testing::FakeScript script;
  script.pull_locals = {"context"};
  script.export_dir = root_ + "/exported";
  script.check_health = true;
  script.exporter_response = {{"k", "v"}};
  bk::StatusResponse st;
  st.add_vertexes()->set_digest("sha256:x");
  script.statuses = {st};
  daemon_->SetScript(script);

  BuildRequest req = DefinitionRequest();
  ExportEntry ex;
  ex.type = "local";
  ex.output_dir = root_ + "/out";
  ex.attrs = {{"platform-split", "false"}};
  req.exports = {ex};
  auto resp = RunBuild(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();

  // What the daemon pulled through FileSync, with buildctl's uid/gid reset.
  testing::FakeRecord rec = daemon_->record();
  EXPECT_TRUE(rec.pull_status.at("context").ok()) << rec.pull_status.at("context").ToString();
  EXPECT_EQ(ReadFile(root_ + "/pulled/context/Dockerfile"), "FROM scratch\n");
  EXPECT_EQ(ReadFile(root_ + "/pulled/context/sub/data.txt"), "payload");
  // What it exported through FileSend, merged with what dest already held.
  EXPECT_TRUE(rec.export_status.ok()) << rec.export_status.ToString();
  EXPECT_EQ(ReadFile(root_ + "/out/result.txt"), "built!");
  EXPECT_EQ(ReadFile(root_ + "/out/keep.txt"), "mine");
  EXPECT_TRUE(rec.health.ok());
  EXPECT_TRUE(rec.health_serving);

  // Protocol facts: ListWorkers (alongside the session's start) before Solve, the session
  // headers, the SolveRequest.
  auto workers = std::find(rec.calls.begin(), rec.calls.end(), "ListWorkers");
  auto solve = std::find(rec.calls.begin(), rec.calls.end(), "Solve");
  ASSERT_NE(workers, rec.calls.end());
  ASSERT_NE(solve, rec.calls.end());
  EXPECT_LT(workers, solve);
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-grpc-method",
                                                 "/moby.filesync.v1.FileSync/DiffCopy")));
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-grpc-method",
                                                 "/moby.filesync.v1.FileSend/DiffCopy")));
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-grpc-method",
                                                 "/grpc.health.v1.Health/Check")));
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-grpc-method",
                                                 "/moby.filesync.v1.Auth/Credentials")));
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-grpc-method",
                                                 "/kiln.filesync.v1.FileSync/DiffCopyBatch")));
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-sharedkey", "")));
  auto uuid = rec.session_headers.find("x-docker-expose-session-uuid");
  ASSERT_NE(uuid, rec.session_headers.end());
  EXPECT_EQ(rec.solve.session(), uuid->second);
  ASSERT_EQ(rec.solve.exporters_size(), 1);
  EXPECT_EQ(rec.solve.exporters(0).type(), "local");
  EXPECT_FALSE(rec.solve.exporters(0).attrs().contains("dest"));
  EXPECT_EQ(rec.solve.exporterdeprecated(), "local");
  EXPECT_EQ(rec.solve.exporterattrsdeprecated().at("platform-split"), "false");
  EXPECT_TRUE(rec.solve.has_definition());
  EXPECT_TRUE(rec.solve.frontend().empty());

  EXPECT_THAT(resp->exporter_response, ElementsAre(Pair("k", "v")));
  ASSERT_EQ(statuses_.size(), 1u);
  EXPECT_EQ(statuses_[0].vertexes(0).digest(), "sha256:x");
}

TEST_F(SessionTest, LocalDirIsSentOverTheBatchedFileSync) {
  testing::FakeScript script;
  script.pull_locals = {"context"};
  script.pull_batch = true;
  daemon_->SetScript(script);
  auto resp = RunBuild(DefinitionRequest());
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  testing::FakeRecord rec = daemon_->record();
  EXPECT_TRUE(rec.pull_status.at("context").ok()) << rec.pull_status.at("context").ToString();
  EXPECT_EQ(ReadFile(root_ + "/pulled/context/Dockerfile"), "FROM scratch\n");
  EXPECT_EQ(ReadFile(root_ + "/pulled/context/sub/data.txt"), "payload");
}

// A tree far larger than every flow-control window, over both FileSync methods: the sender's
// reader and writer use the call at once (the batched one from two threads), and the tunnel
// must carry all of it in order. Exported back the same way.
TEST_F(SessionTest, ALargeTreeCrossesTheTunnelWholeBothWays) {
  std::mt19937 rnd(7);
  std::map<std::string, std::string> files;
  for (int i = 0; i < 1500; ++i) {
    std::string dir = fmt::format("/ctx/d{:02d}/s{}", i % 40, i % 7);
    std::filesystem::create_directories(root_ + dir);
    std::string data(static_cast<size_t>(rnd() % 40000), '\0');
    for (char& c : data) c = static_cast<char>(rnd());
    std::string path = fmt::format("{}/f{:04d}", dir, i);
    WriteFile(root_ + path, data);
    files[path.substr(4)] = data;
  }
  for (bool batch : {false, true}) {
    SCOPED_TRACE(batch ? "DiffCopyBatch" : "DiffCopy");
    RemoveTree(root_ + "/pulled").IgnoreError();
    ASSERT_EQ(mkdir((root_ + "/pulled").c_str(), 0755), 0);
    testing::FakeScript script;
    script.pull_locals = {"context"};
    script.pull_batch = batch;
    script.export_dir = root_ + "/ctx";
    daemon_->SetScript(script);
    BuildRequest req = DefinitionRequest();
    ExportEntry ex;
    ex.type = "local";
    ex.output_dir = root_ + (batch ? "/out-batch" : "/out");
    req.exports = {ex};
    auto resp = RunBuild(req);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    ASSERT_TRUE(daemon_->record().pull_status.at("context").ok());
    ASSERT_TRUE(daemon_->record().export_status.ok());
    for (const auto& [path, data] : files) {
      ASSERT_EQ(ReadFile(root_ + "/pulled/context" + path), data) << path;
      ASSERT_EQ(ReadFile(ex.output_dir + path), data) << path;
    }
  }
}

TEST_F(SessionTest, BatchedFileSyncCanBeTurnedOff) {
  testing::FakeScript script;
  script.pull_locals = {"context"};
  daemon_->SetScript(script);
  BuildRequest req = DefinitionRequest();
  req.batch_sync = false;
  auto resp = RunBuild(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  testing::FakeRecord rec = daemon_->record();
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-grpc-method",
                                                 "/moby.filesync.v1.FileSync/DiffCopy")));
  EXPECT_THAT(rec.session_headers, Not(Contains(Pair("x-docker-expose-session-grpc-method",
                                                     "/kiln.filesync.v1.FileSync/DiffCopyBatch"))));
  EXPECT_EQ(ReadFile(root_ + "/pulled/context/sub/data.txt"), "payload");
}

TEST_F(SessionTest, TarOutputIsWrittenToTheFile) {
  std::string payload(5000, 'x');
  payload += "end";
  testing::FakeScript script;
  script.export_bytes = payload;
  daemon_->SetScript(script);
  BuildRequest req = DefinitionRequest();
  ExportEntry ex;
  ex.type = "tar";
  ex.output_file = root_ + "/out.tar";
  req.exports = {ex};
  auto resp = RunBuild(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(ReadFile(root_ + "/out.tar"), payload);
}

TEST_F(SessionTest, TarOutputToStdoutFd) {
  testing::FakeScript script;
  script.export_bytes = "tarball bytes";
  daemon_->SetScript(script);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  BuildRequest req = DefinitionRequest();
  ExportEntry ex;
  ex.type = "tar";
  ex.output_file = "-";
  req.exports = {ex};
  req.stdout_fd = fds[1];
  auto resp = RunBuild(req);
  close(fds[1]);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  char buf[64] = {};
  ssize_t n = read(fds[0], buf, sizeof(buf));
  close(fds[0]);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "tarball bytes");
}

TEST_F(SessionTest, OciOutputWithTarFalseIsALayoutDirectory) {
  content::testing::TempStore store;
  std::vector<session::BlobDescriptor> blobs;
  for (auto [mt, data] : std::vector<std::pair<std::string, std::string>>{
           {"application/vnd.oci.image.layer.v1.tar+gzip", std::string(300000, 'l')},
           {"application/vnd.oci.image.config.v1+json", "{}"},
           {"application/vnd.oci.image.manifest.v1+json", R"({"schemaVersion":2})"}}) {
    auto info = store->WriteBlob(Context::Background(), data);
    ASSERT_TRUE(info.ok());
    blobs.push_back({mt, info->digest, info->size});
  }
  const std::string desc = R"({"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                           R"("digest":")" +
                           blobs[2].digest.str() + R"(","size":20})";
  testing::FakeScript script;
  script.content_store = &*store;
  script.store_blobs = blobs;
  script.exporter_response = {{"containerimage.descriptor", Base64Encode(desc)},
                              {"image.name", "docker.io/library/app:v1"}};
  daemon_->SetScript(script);

  BuildRequest req = DefinitionRequest();
  auto ex = ParseOutput("type=oci,dest=" + root_ + "/layout,tar=false", false);
  ASSERT_TRUE(ex.ok());
  req.exports = {*ex};
  auto resp = RunBuild(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_TRUE(daemon_->record().store_status.ok()) << daemon_->record().store_status.ToString();

  const std::string layout = root_ + "/layout";
  EXPECT_EQ(ReadFile(layout + "/blobs/sha256/" + std::string(blobs[0].digest.hex())),
            std::string(300000, 'l'));
  EXPECT_EQ(ReadFile(layout + "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_EQ(ReadFile(layout + "/index.json"),
            R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
            R"("manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("digest":")" +
                blobs[2].digest.str() +
                R"(","size":20,"annotations":{)"
                R"("io.containerd.image.name":"docker.io/library/app:v1",)"
                R"("org.opencontainers.image.ref.name":"v1"}}]})");
  EXPECT_NE(access((layout + "/ingest").c_str(), F_OK), 0);  // gone with the session

  testing::FakeRecord rec = daemon_->record();
  EXPECT_THAT(rec.session_headers, Contains(Pair("x-docker-expose-session-grpc-method",
                                                 "/containerd.services.content.v1.Content/Write")));
  EXPECT_THAT(rec.session_headers, Not(Contains(Pair("x-docker-expose-session-grpc-method",
                                                     "/moby.filesync.v1.FileSend/DiffCopy"))));
  ASSERT_EQ(rec.solve.exporters_size(), 1);
  EXPECT_EQ(rec.solve.exporters(0).attrs().at("tar"), "false");
  EXPECT_FALSE(rec.solve.exporters(0).attrs().contains("dest"));
}

TEST_F(SessionTest, TwoLayoutDirectoryOutputsAreRefused) {
  BuildRequest req = DefinitionRequest();
  auto oci = ParseOutput("type=oci,dest=" + root_ + "/a,tar=false", false);
  auto docker = ParseOutput("type=docker,dest=" + root_ + "/b,tar=false", false);
  ASSERT_TRUE(oci.ok() && docker.ok());
  req.exports = {*oci, *docker};
  auto resp = RunBuild(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().message(), "oci store key \"export\" already exists");
}

TEST_F(SessionTest, UnknownLocalNameIsNotFound) {
  testing::FakeScript script;
  script.pull_locals = {"nope"};
  daemon_->SetScript(script);
  auto resp = RunBuild(DefinitionRequest());
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().message(), "failed to solve: no access allowed to dir \"nope\"");
  EXPECT_EQ(daemon_->record().pull_status.at("nope").code(), Code::kNotFound);
}

TEST_F(SessionTest, DefinitionNeedsItsLocals) {
  BuildRequest req = DefinitionRequest();
  req.local_dirs.clear();
  auto resp = RunBuild(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().message(), "local directory context not enabled");
}

TEST_F(SessionTest, SolveErrorReadsLikeBuildctl) {
  testing::FakeScript script;
  script.result = grpc::Status(grpc::StatusCode::UNKNOWN, "process did not complete successfully");
  daemon_->SetScript(script);
  auto resp = RunBuild(DefinitionRequest());
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().message(), "failed to solve: process did not complete successfully");
}

TEST_F(SessionTest, ClientSideFrontendFlow) {
  testing::FakeScript script;
  script.pull_locals = {"context"};
  daemon_->SetScript(script);
  BuildRequest req;
  req.ref = "myref";
  req.frontend = "dockerfile.v0";
  req.frontend_attrs = {{"target", "x"}};
  req.local_dirs = {{"context", root_ + "/ctx"}};
  auto resp = RunBuild(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();

  testing::FakeRecord rec = daemon_->record();
  EXPECT_TRUE(rec.solve.frontend().empty());
  EXPECT_FALSE(rec.solve.has_definition());
  EXPECT_EQ(rec.solve.ref(), "myref");
  EXPECT_EQ(rec.bridge_buildid, "myref");
  EXPECT_EQ(rec.bridge_solve.frontend(), "dockerfile.v0");
  EXPECT_EQ(rec.bridge_solve.frontendopt().at("target"), "x");
  EXPECT_TRUE(rec.bridge_solve.allowresultreturn());
  EXPECT_TRUE(rec.bridge_solve.allowresultarrayref());
  EXPECT_EQ(rec.bridge_return.result().ref().id(), "result-ref-1");
  EXPECT_FALSE(rec.bridge_return.has_error());
  EXPECT_EQ(resp->frontend_metadata.at("result.txt"), "outline text\n");
  EXPECT_EQ(ReadFile(root_ + "/pulled/context/Dockerfile"), "FROM scratch\n");
}

TEST_F(SessionTest, ClientSideFrontendErrorIsReturnedToTheDaemon) {
  BuildRequest req;
  req.frontend = "fail.v0";
  auto resp = RunBuild(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().message(), "failed to solve: dockerfile parse error line 1");
  testing::FakeRecord rec = daemon_->record();
  EXPECT_TRUE(rec.bridge_return.has_error());
  EXPECT_EQ(rec.bridge_return.error().message(), "dockerfile parse error line 1");
}

TEST_F(SessionTest, FrontendInSolveNamesTheFrontend) {
  BuildRequest req;
  req.frontend = "dockerfile.v0";
  req.frontend_in_solve = true;
  auto resp = RunBuild(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  testing::FakeRecord rec = daemon_->record();
  EXPECT_EQ(rec.solve.frontend(), "dockerfile.v0");
  EXPECT_THAT(rec.calls, ::testing::Not(Contains("Ping")));
}

TEST_F(SessionTest, CancellingTheContextCancelsTheSolve) {
  testing::FakeScript script;
  script.block_until_cancelled = true;
  daemon_->SetScript(script);
  Context ctx = Context::Background().Child();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ctx.Cancel(Cancelled("context canceled"));
  });
  auto resp = RunBuild(DefinitionRequest(), ctx);
  canceller.join();
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kCancelled);
  EXPECT_EQ(resp.status().message(), "failed to solve: context canceled");
  for (int i = 0; i < 100 && !daemon_->record().solve_cancelled; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(daemon_->record().solve_cancelled);
}

TEST_F(SessionTest, ListWorkersFailureStopsTheBuild) {
  testing::FakeScript script;
  script.list_workers = grpc::Status(grpc::StatusCode::INTERNAL, "no workers here");
  script.block_until_cancelled = true;  // Solve, once there, would never end by itself
  daemon_->SetScript(script);
  auto start = std::chrono::steady_clock::now();
  auto resp = RunBuild(DefinitionRequest());
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().message(), "listing workers for Build: no workers here");
  // Neither the Solve nor the Status stream (which ends with the job) was waited for: the
  // client gives a quiet Status stream 5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(SessionTest, ListWorkersFailureFailsTheBuild) {
  daemon_.reset();  // nothing listens any more
  auto resp = RunBuild(DefinitionRequest());
  ASSERT_FALSE(resp.ok());
  EXPECT_THAT(resp.status().message(), HasSubstr("listing workers for Build"));
}

}  // namespace
}  // namespace kiln::client
