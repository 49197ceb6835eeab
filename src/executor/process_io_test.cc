#include "executor/process_io.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "executor/testing/temp_dir.h"

namespace kiln::executor {
namespace {

int OpenFdCount() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) n++;
  closedir(d);
  return n;
}

struct Captured {
  std::string out, err;
  Stdio stdio() {
    Stdio s;
    s.out = [this](std::string_view b) { out.append(b); };
    s.err = [this](std::string_view b) { err.append(b); };
    return s;
  }
};

TEST(ProcessIOTest, StreamsOutputAndReturnsExitCode) {
  Captured c;
  auto code = RunProcessIO(Context::Background(),
                           {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, c.stdio(), {});
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 3);
  EXPECT_EQ(c.out, "out\n");
  EXPECT_EQ(c.err, "err\n");
}

TEST(ProcessIOTest, WritesStdinThenClosesIt) {
  Captured c;
  Stdio s = c.stdio();
  s.stdin_data = std::string(300000, 'x') + "\nend\n";  // more than a pipe buffer
  auto code = RunProcessIO(Context::Background(), {"/bin/sh", "-c", "wc -c; tail -n1"}, s, {});
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(c.out, "300005\n");
}

TEST(ProcessIOTest, StdinNobodyReadsDoesNotKillTheDaemon) {
  Captured c;
  Stdio s = c.stdio();
  s.stdin_data = std::string(1 << 20, 'x');
  auto code = RunProcessIO(Context::Background(), {"/bin/sh", "-c", "exit 0"}, s, {});
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

TEST(ProcessIOTest, SignalDeathIs128PlusSignal) {
  auto code = RunProcessIO(Context::Background(), {"/bin/sh", "-c", "kill -9 $$"}, {}, {});
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 128 + SIGKILL);
}

TEST(ProcessIOTest, NoDaemonFdReachesTheChild) {
  Captured c;
  // fds 0-2 and the one ls opens for /proc/self/fd
  auto code = RunProcessIO(Context::Background(), {"/bin/sh", "-c", "ls /proc/self/fd | wc -l"},
                           c.stdio(), {});
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(c.out, "4\n");
}

TEST(ProcessIOTest, CancelRetriesKillUntilItTakes) {
  testing::TempDir dir;
  std::string pidfile = dir.Sub("pid");
  int before = OpenFdCount();
  Context ctx = Context::Background().Child();
  std::mutex mu;
  int attempts = 0;
  ProcessIOOptions o;
  o.retry_interval = std::chrono::milliseconds(10);
  o.kill = [&] {
    std::lock_guard<std::mutex> l(mu);
    // the first two attempts "fail" as a runtime that has not created the container yet
    if (++attempts < 3) return false;
    std::string pid = testing::ReadTestFile(pidfile);
    return !pid.empty() && kill(std::stoi(pid), SIGKILL) == 0;
  };
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ctx.Cancel(Cancelled("test cancel"));
  });
  auto start = std::chrono::steady_clock::now();
  auto code =
      RunProcessIO(ctx, {"/bin/sh", "-c", "echo $$ > " + pidfile + "; exec sleep 4242"}, {}, o);
  auto took = std::chrono::steady_clock::now() - start;
  t.join();
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(attempts, 3);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(OpenFdCount(), before);
}

TEST(ProcessIOTest, KillTimeoutKillsTheProcessItself) {
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("already"));
  ProcessIOOptions o;
  o.kill = [] { return false; };
  o.retry_interval = std::chrono::milliseconds(5);
  o.kill_timeout = std::chrono::milliseconds(50);
  auto code = RunProcessIO(ctx, {"/bin/sleep", "4243"}, {}, o);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 128 + SIGKILL);
}

TEST(ProcessIOTest, MissingBinaryIsAnError) {
  auto code = RunProcessIO(Context::Background(), {"/nonexistent/runc"}, {}, {});
  ASSERT_FALSE(code.ok());
  EXPECT_EQ(code.status().message(), "exec /nonexistent/runc: No such file or directory");
}

}  // namespace
}  // namespace kiln::executor
