// End-to-end builds through the real kilnd and kilnctl: local context -> copy -> mkfile ->
// merge, caching across builds and restarts, concurrent builds, cancellation, bad input.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "harness.h"
#include "llb/builder.h"
#include "util/digest.h"

namespace kiln::itest {
namespace {

using llb::FileOpBuilder;
using llb::State;

// The graph of the acceptance test: context -> copy -> mkfile, merged with a second copy.
std::string SampleDefinition() {
  State ctx = State::Local("context");
  State app = FileOpBuilder(State::Scratch())
                  .Copy(ctx, "/a", "/app/")
                  .Mkfile("/app/generated.txt", 0644, "generated\n")
                  .Result("copy a and generate");
  State docs = FileOpBuilder(State::Scratch()).Copy(ctx, "/b", "/docs/").Result("copy b");
  State merged = State::Merge({app, docs}, "merge app and docs");
  return merged.Marshal()->SerializeAsString();
}

// kilnd --debug names the FileSync method of each local pull.
constexpr char kBatchPull[] = "\"context\": pulling over /kiln.filesync.v1.FileSync/DiffCopyBatch";
constexpr char kStandardPull[] = "\"context\": pulling over /moby.filesync.v1.FileSync/DiffCopy";

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
    ctx_ = MakeTempDir("kiln-ctx");
    out_ = MakeTempDir("kiln-out");
    WriteFile(ctx_ + "/a/hello.txt", "hello\n");
    WriteFile(ctx_ + "/a/run.sh", "#!/bin/sh\necho hi\n", 0755);
    WriteFile(ctx_ + "/b/readme.md", "# docs\n");
    WriteFile(ctx_ + "/b/big.bin", std::string(200000, 'x'));
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
    std::filesystem::remove_all(ctx_);
    std::filesystem::remove_all(out_);
  }
  RunResult Build(const std::string& def, const std::string& out, const std::string& extra_out = "") {
    std::string o = extra_out.empty() ? "type=local,dest=" + out : extra_out;
    return daemon_.Kilnctl({"build", "--progress=rawjson", "--local", "context=" + ctx_, "--output", o}, def);
  }

  Daemon daemon_;
  std::string ctx_, out_;
};

TEST_F(BuildTest, LocalCopyMkfileMergeProducesExpectedBytes) {
  auto r = Build(SampleDefinition(), out_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/app/hello.txt"), "hello\n");
  EXPECT_EQ(ReadFile(out_ + "/app/run.sh"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(ReadFile(out_ + "/app/generated.txt"), "generated\n");
  EXPECT_EQ(ReadFile(out_ + "/docs/readme.md"), "# docs\n");
  EXPECT_EQ(ReadFile(out_ + "/docs/big.bin"), std::string(200000, 'x'));
  struct stat st;
  ASSERT_EQ(stat((out_ + "/app/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  // kilnctl serves kiln's batched FileSync, and kilnd used it.
  EXPECT_NE(daemon_.Log().find(kBatchPull), std::string::npos) << daemon_.Log();
}

// With KILN_NO_BATCH_SYNC=1 kilnctl serves only BuildKit's FileSync.DiffCopy, as buildctl does:
// kilnd must fall back to it for a first sync, a change and a no-change resync, and a later
// batched sync must carry on from the same sync directory.
TEST_F(BuildTest, StandardDiffCopyWithoutTheBatchMethod) {
  const std::string def = SampleDefinition();
  auto build = [&](bool batch) {
    std::map<std::string, std::string> env;
    if (!batch) env["KILN_NO_BATCH_SYNC"] = "1";
    return itest::Run(
        {BinDir() + "/kilnctl", "--addr", daemon_.addr(), "build", "--progress=rawjson", "--local",
         "context=" + ctx_, "--output", "type=local,dest=" + out_},
        def, env);
  };
  auto r = build(false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/app/hello.txt"), "hello\n");
  EXPECT_EQ(ReadFile(out_ + "/docs/big.bin"), std::string(200000, 'x'));
  EXPECT_GT(StatusCurrent(r.err, "transferring context:"), 200000);

  WriteFile(ctx_ + "/b/readme.md", "# docs v3\n");
  r = build(false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/docs/readme.md"), "# docs v3\n");
  EXPECT_LT(StatusCurrent(r.err, "transferring context:"), 2000);
  r = build(false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ParseRawJson(r.err)["merge app and docs"].cached);
  std::string log = daemon_.Log();
  EXPECT_NE(log.find(kStandardPull), std::string::npos) << log;
  EXPECT_EQ(log.find(kBatchPull), std::string::npos) << log;

  WriteFile(ctx_ + "/a/hello.txt", "hello again\n");
  r = build(true);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/app/hello.txt"), "hello again\n");
  EXPECT_EQ(ReadFile(out_ + "/docs/readme.md"), "# docs v3\n");
  EXPECT_LT(StatusCurrent(r.err, "transferring context:"), 2000);
  EXPECT_NE(daemon_.Log().find(kBatchPull), std::string::npos);
}

TEST_F(BuildTest, SecondBuildIsFullyCachedAndTransfersNothing) {
  auto def = SampleDefinition();
  auto r1 = Build(def, out_);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_GT(StatusCurrent(r1.err, "transferring context:"), 200000);
  auto r2 = Build(def, out_);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  auto v = ParseRawJson(r2.err);
  for (const auto& name : {"local://context", "copy a and generate", "copy b", "merge app and docs"}) {
    ASSERT_TRUE(v.count(name)) << name << "\n" << r2.err;
    EXPECT_TRUE(v[name].cached) << name << " was not cached";
  }
  // Only the listing crossed the session (a few hundred bytes), no file content.
  int64_t again = StatusCurrent(r2.err, "transferring context:");
  EXPECT_GE(again, 0);
  EXPECT_LT(again, 2000) << "unchanged files were transferred";
}

TEST_F(BuildTest, ChangingOneFileRerunsOnlyWhatDependsOnIt) {
  auto def = SampleDefinition();
  ASSERT_EQ(Build(def, out_).exit_code, 0);
  WriteFile(ctx_ + "/b/readme.md", "# docs v2\n");
  auto r = Build(def, out_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = ParseRawJson(r.err);
  EXPECT_TRUE(v["copy a and generate"].cached);
  EXPECT_FALSE(v["copy b"].cached);
  EXPECT_FALSE(v["merge app and docs"].cached);
  EXPECT_EQ(ReadFile(out_ + "/docs/readme.md"), "# docs v2\n");
  // Only the changed file crossed the session: the listing plus 10 bytes, not the 200 kB file.
  int64_t moved = StatusCurrent(r.err, "transferring context:");
  EXPECT_GE(moved, 10);
  EXPECT_LT(moved, 2000);
}

TEST_F(BuildTest, CacheSurvivesDaemonRestart) {
  auto def = SampleDefinition();
  ASSERT_EQ(Build(def, out_).exit_code, 0);
  daemon_.Stop();
  ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
  auto r = Build(def, out_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = ParseRawJson(r.err);
  EXPECT_TRUE(v["copy a and generate"].cached);
  EXPECT_TRUE(v["copy b"].cached);
  EXPECT_TRUE(v["merge app and docs"].cached);
}

TEST_F(BuildTest, ConcurrentBuildsRunEachVertexOnce) {
  auto def = SampleDefinition();
  std::string out2 = MakeTempDir("kiln-out2");
  RunResult r1, r2;
  std::thread t([&] { r1 = Build(def, out_); });
  r2 = Build(def, out2);
  t.join();
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(ReadFile(out2 + "/app/generated.txt"), "generated\n");
  // kilnd --debug logs every op execution: each vertex ran at most once.
  std::string log = daemon_.Log();
  std::map<std::string, int> runs;
  const std::string marker = "exec vertex ";
  for (size_t pos = log.find(marker); pos != std::string::npos; pos = log.find(marker, pos + 1)) {
    runs[log.substr(pos + marker.size(), 71)]++;  // "sha256:" + 64 hex digits
  }
  EXPECT_FALSE(runs.empty());
  for (const auto& [d, n] : runs) EXPECT_EQ(n, 1) << d;
  std::filesystem::remove_all(out2);
}

TEST_F(BuildTest, TarOutputToFile) {
  std::string tar = out_ + "/result.tar";
  auto r = Build(SampleDefinition(), "", "type=tar,dest=" + tar);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = itest::Run({"tar", "-tf", tar});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("app/generated.txt"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("docs/big.bin"), std::string::npos);
}

TEST_F(BuildTest, CancelledBuildLeavesNothingBehind) {
  // A context large enough that the transfer is still running when we interrupt.
  for (int i = 0; i < 400; i++) WriteFile(ctx_ + "/b/f" + std::to_string(i), std::string(256 * 1024, 'y'));
  // Warm up so lazily created daemon threads exist before the baseline.
  ASSERT_EQ(Build(SampleDefinition(), out_).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int threads0 = daemon_.Threads(), fds0 = daemon_.Fds();
  for (int i = 0; i < 400; i++) WriteFile(ctx_ + "/b/f" + std::to_string(i), std::string(256 * 1024, 'z'));
  pid_t pid = daemon_.StartKilnctl(
      {"build", "--local", "context=" + ctx_, "--output", "type=local,dest=" + out_}, SampleDefinition());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  kill(pid, SIGINT);
  int st;
  // One Ctrl-C ends kilnctl. (It used to linger for 10 s now and then: gRPC's library shutdown
  // at exit waited on a poll; kilnctl now leaves the library to process exit.)
  bool exited = false;
  for (int i = 0; i < 200 && !exited; i++) {
    exited = waitpid(pid, &st, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  EXPECT_TRUE(exited) << "kilnctl was still running 10 s after one Ctrl-C";
  // kilnd keeps serving, and returns to its baseline.
  auto [threads, fds] = daemon_.WaitForThreadsAndFds(threads0, fds0);
  EXPECT_LE(threads, threads0);
  EXPECT_LE(fds, fds0);
  auto r = daemon_.Kilnctl({"debug", "workers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // No half-made snapshot is left in the worker's snapshot dir.
  for (const auto& e : std::filesystem::directory_iterator(daemon_.root() + "/worker/snapshots")) {
    EXPECT_NE(e.path().filename().string().rfind(".tmp-", 0), 0u) << e.path();
  }
}

TEST_F(BuildTest, MalformedDefinitionsAreClearErrors) {
  struct Case {
    std::string name, input, want;
  };
  pb::Definition empty;
  std::vector<Case> cases = {
      {"garbage", "\x0a\x05\xff\xff\xff\xff\xff", "parse"},
      {"not protobuf", "this is not a definition", ""},
      {"empty", empty.SerializeAsString(), "empty definition"},
  };
  for (const auto& c : cases) {
    auto r = daemon_.Kilnctl({"build", "--output", "type=local,dest=" + out_}, c.input);
    EXPECT_NE(r.exit_code, 0) << c.name;
    if (!c.want.empty()) {
      EXPECT_NE(r.err.find(c.want), std::string::npos) << c.name << ": " << r.err;
    }
  }
  // An input index out of range, built by hand.
  pb::Op file;
  auto* a = file.mutable_file()->add_actions();
  a->mutable_mkdir()->set_path("/x");
  a->set_input(5);
  pb::Definition def;
  def.add_def(file.SerializeAsString());
  pb::Op term;
  term.add_inputs()->set_digest(Digest::FromBytes(def.def(0)).str());
  def.add_def(term.SerializeAsString());
  auto r = daemon_.Kilnctl({"build", "--output", "type=local,dest=" + out_}, def.SerializeAsString());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
  EXPECT_EQ(daemon_.Kilnctl({"debug", "workers"}).exit_code, 0);
}

TEST_F(BuildTest, WorkersAndDiskUsageAndPrune) {
  auto w = daemon_.Kilnctl({"debug", "workers"});
  ASSERT_EQ(w.exit_code, 0);
  EXPECT_NE(w.out.find("linux/"), std::string::npos) << w.out;
  ASSERT_EQ(Build(SampleDefinition(), out_).exit_code, 0);
  auto du = daemon_.Kilnctl({"du"});
  ASSERT_EQ(du.exit_code, 0) << du.err;
  EXPECT_NE(du.out.find("Total:"), std::string::npos) << du.out;
  auto pr = daemon_.Kilnctl({"prune", "--all"});
  ASSERT_EQ(pr.exit_code, 0) << pr.err;
  auto du2 = daemon_.Kilnctl({"du", "--verbose"});
  ASSERT_EQ(du2.exit_code, 0);
  // After pruning, the build runs again (nothing stale is loaded from the key store).
  auto r = Build(SampleDefinition(), out_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(ParseRawJson(r.err)["merge app and docs"].cached);
}

}  // namespace
}  // namespace kiln::itest
