// Real containers: runc (and crun where it can run) over a busybox rootfs. Needs root; every
// test skips with the reason otherwise.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "executor/cni.h"
#include "executor/executor.h"
#include "executor/oci_spec.h"
#include "executor/subprocess.h"
#include "executor/testing/busybox_rootfs.h"
#include "executor/testing/temp_dir.h"

namespace kiln::executor {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadTestFile;
using testing::TempDir;

int OpenFdCount() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) n++;
  closedir(d);
  return n;
}

// Processes on the host whose command line (args joined by NULs) is `cmdline`, or contains it.
int CountProcesses(const std::string& cmdline, bool substring = false) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string c = ReadTestFile(e.path().string() + "/cmdline");
    if (substring ? c.find(cmdline) != std::string::npos : c == cmdline) n++;
  }
  return n;
}

struct Output {
  std::mutex mu;
  std::string out, err;
  Stdio stdio(std::string in = "") {
    Stdio s;
    s.out = [this](std::string_view b) {
      std::lock_guard<std::mutex> l(mu);
      out.append(b);
    };
    s.err = [this](std::string_view b) {
      std::lock_guard<std::mutex> l(mu);
      err.append(b);
    };
    s.stdin_data = std::move(in);
    return s;
  }
};

class RuntimeExecutorTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string skip = testing::RuntimeTestSkipReason(GetParam());
    if (!skip.empty()) GTEST_SKIP() << skip;
    ASSERT_EQ(testing::MakeBusyboxRootfs(rootfs()), "");
    auto ex = NewRuntimeExecutor({GetParam(), state(), "", false, "", {}});
    if (!ex.ok() && ex.status().code() == Code::kFailedPrecondition) {
      GTEST_SKIP() << ex.status().message();
    }
    ASSERT_TRUE(ex.ok()) << ex.status().ToString();
    ex_ = std::move(*ex);
  }

  std::string rootfs() const { return dir_.Sub("rootfs"); }
  std::string state() const { return dir_.Sub("state"); }

  RunRequest Request(std::vector<std::string> args) const {
    RunRequest r;
    r.rootfs = rootfs();
    r.process.args = std::move(args);
    r.process.env = {"PATH=/bin"};
    return r;
  }
  Status Sh(const std::string& script, Output& o, RunRequest* base = nullptr) {
    RunRequest r = base ? *base : Request({});
    r.rootfs = rootfs();
    r.process.args = {"/bin/sh", "-c", script};
    if (r.process.env.empty()) r.process.env = {"PATH=/bin"};
    r.stdio = o.stdio(base ? base->stdio.stdin_data : "");
    return ex_->Run(Context::Background(), r);
  }
  std::vector<std::string> StateLeft() {
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(state() + "/bundles")) left.push_back(e.path());
    auto list = RunCommand(
        {"/bin/sh", "-c", GetParam() + " --root " + state() + "/" + ex_->name() + " list -q"});
    if (list.ok() && !list->out.empty()) left.push_back("containers: " + list->out);
    return left;
  }

  TempDir dir_;
  std::unique_ptr<Executor> ex_;
};

TEST_P(RuntimeExecutorTest, CapturesStdoutAndStderr) {
  Output o;
  Status s = Sh("echo hello; echo oops >&2", o);
  ASSERT_TRUE(s.ok()) << s.ToString() << o.err;
  EXPECT_EQ(o.out, "hello\n");
  EXPECT_EQ(o.err, "oops\n");
  EXPECT_TRUE(StateLeft().empty());
}

TEST_P(RuntimeExecutorTest, StdinIsWrittenThenClosed) {
  Output o;
  RunRequest r = Request({});
  r.stdio.stdin_data = "line1\nline2\n";
  ASSERT_TRUE(Sh("cat; echo done", o, &r).ok()) << o.err;
  EXPECT_EQ(o.out, "line1\nline2\ndone\n");
}

TEST_P(RuntimeExecutorTest, NonZeroExitIsBuildkitsError) {
  Output o;
  Status s = Sh("exit 3", o);
  EXPECT_EQ(s.code(), Code::kUnknown);
  EXPECT_EQ(s.message(),
            "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3");
  ASSERT_TRUE(s.details().exit_code.has_value());
  EXPECT_EQ(*s.details().exit_code, 3);
  EXPECT_TRUE(StateLeft().empty());
}

TEST_P(RuntimeExecutorTest, UserNameResolvesWithGroups) {
  Output o;
  RunRequest r = Request({});
  r.process.user = "user";
  ASSERT_TRUE(Sh("id", o, &r).ok()) << o.err;
  // the kernel keeps the group list sorted
  EXPECT_EQ(o.out, "uid=1000(user) gid=1000(user) groups=50(staff),1000(user)\n");
  Output root;
  ASSERT_TRUE(Sh("id", root).ok());
  EXPECT_EQ(root.out, "uid=0(root) gid=0(root) groups=0(root)\n");
}

TEST_P(RuntimeExecutorTest, MissingCwdIsCreatedAndOwned) {
  Output o;
  RunRequest r = Request({});
  r.process.user = "user";
  r.process.cwd = "/home/user/work";
  ASSERT_TRUE(Sh("pwd; touch mine", o, &r).ok()) << o.err;
  EXPECT_EQ(o.out, "/home/user/work\n");
  struct stat st;
  ASSERT_EQ(stat((rootfs() + "/home/user/work/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  ASSERT_EQ(stat((rootfs() + "/home/user/work").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_P(RuntimeExecutorTest, EnvIsExactlyTheRequests) {
  setenv("KILN_EXECUTOR_TEST_DAEMON_ONLY", "1", 1);  // the daemon's env must not leak in
  Output o;
  RunRequest r = Request({"/bin/env"});
  r.process.env = {"PATH=/bin", "FOO=bar baz"};
  r.stdio = o.stdio();
  Status s = ex_->Run(Context::Background(), r);
  unsetenv("KILN_EXECUTOR_TEST_DAEMON_ONLY");
  ASSERT_TRUE(s.ok()) << s.ToString() << o.err;
  // runc adds HOME from the user's passwd entry when the step sets none
  EXPECT_EQ(o.out, "PATH=/bin\nFOO=bar baz\nHOME=/root\n");
}

TEST_P(RuntimeExecutorTest, HostnameAndExtraHosts) {
  Output o;
  RunRequest r = Request({});
  r.process.hostname = "builder";
  r.process.extra_hosts = {{"db.internal", "10.9.8.7"}};
  ASSERT_TRUE(Sh("hostname; cat /etc/hosts; cat /etc/resolv.conf | grep -c nameserver", o, &r).ok())
      << o.err;
  EXPECT_THAT(o.out, ::testing::StartsWith("builder\n127.0.0.1\tlocalhost builder\n"));
  EXPECT_THAT(o.out, HasSubstr("10.9.8.7\tdb.internal\n"));
  Output d;
  ASSERT_TRUE(Sh("hostname", d).ok());
  EXPECT_EQ(d.out, "buildkitsandbox\n");
}

TEST_P(RuntimeExecutorTest, NetworkNoneHasOnlyLoopback) {
  RunRequest r = Request({});
  r.process.network = NetworkMode::kNone;
  Output o;
  ASSERT_TRUE(Sh("grep : /proc/net/dev | cut -d: -f1", o, &r).ok()) << o.err;
  EXPECT_EQ(o.out, "    lo\n");
  // the default (no CNI) shares the host's interfaces: more than loopback
  Output host;
  ASSERT_TRUE(Sh("grep -c : /proc/net/dev", host).ok());
  EXPECT_NE(host.out, "1\n");
}

TEST_P(RuntimeExecutorTest, ReadonlyBindCannotBeWrittenWritableCan) {
  TempDir ro, rw;
  testing::WriteTestFile(ro.Sub("f"), "data\n");
  testing::WriteTestFile(rw.Sub("file.txt"), "old\n");
  RunRequest r = Request({});
  r.mounts.push_back({MountSpec::Type::kBind, "/ro", ro.path(), true, 0});
  r.mounts.push_back({MountSpec::Type::kBind, "/rw/file.txt", rw.Sub("file.txt"), false, 0});
  Output o;
  Status s = Sh("cat /ro/f; echo new > /rw/file.txt; touch /ro/x", o, &r);
  EXPECT_EQ(s.code(), Code::kUnknown);
  EXPECT_EQ(o.out, "data\n");
  EXPECT_THAT(o.err, HasSubstr("Read-only file system"));
  EXPECT_EQ(ReadTestFile(rw.Sub("file.txt")), "new\n");
  EXPECT_FALSE(fs::exists(ro.Sub("x")));
}

TEST_P(RuntimeExecutorTest, TmpfsHasItsSize) {
  RunRequest r = Request({});
  r.mounts.push_back({MountSpec::Type::kTmpfs, "/scratch", "", false, 2 << 20});
  Output o;
  ASSERT_TRUE(Sh("df -k /scratch | tail -n 1", o, &r).ok()) << o.err;
  EXPECT_THAT(o.out, ::testing::StartsWith("tmpfs"));
  EXPECT_THAT(o.out, HasSubstr(" 2048 "));
  Output full;
  Status s = Sh("dd if=/dev/zero of=/scratch/big bs=1024 count=3000", full, &r);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(full.err, HasSubstr("No space left on device"));
}

TEST_P(RuntimeExecutorTest, ExecutableNotFoundIsClear) {
  Output o;
  RunRequest r = Request({"/bin/nosuchtool", "arg"});
  r.stdio = o.stdio();
  Status s = ex_->Run(Context::Background(), r);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), ::testing::StartsWith(
                               "process \"/bin/nosuchtool arg\" did not complete successfully: "));
  EXPECT_THAT(s.message(), HasSubstr("nosuchtool"));
  EXPECT_THAT(s.message(), ::testing::AnyOf(HasSubstr("no such file or directory"),
                                            HasSubstr("No such file or directory")));
  EXPECT_TRUE(s.details().exit_code.has_value());
  EXPECT_TRUE(StateLeft().empty());
}

TEST_P(RuntimeExecutorTest, CancelKillsTheTreeAndLeavesNothing) {
  int fds_before = OpenFdCount();
  Context ctx = Context::Background().Child();
  // busybox may run sleep inside sh: count every process naming the unique number
  const std::string marker = "sleep " + std::to_string(4000 + getpid() % 1000);
  int running = 0;
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller([ctx, &running, &marker, &cancelled_at] {
    // Cancels once the container's processes run (a loaded machine can take well over the
    // 200 ms this once waited for runc to start them), or after 20 s without them.
    for (int i = 0; i < 400 && running == 0; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      running = CountProcesses(marker, true);
    }
    cancelled_at = std::chrono::steady_clock::now();
    ctx.Cancel(Cancelled("build cancelled by the test"));
  });
  Output o;
  RunRequest r = Request({"/bin/sh", "-c", marker + " & " + marker + "; echo late"});
  r.stdio = o.stdio();
  Status s = ex_->Run(ctx, r);
  auto ended = std::chrono::steady_clock::now();
  canceller.join();
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(s.message(), "build cancelled by the test");
  // The sleeps would run for over an hour: the kill, not their end, stopped the run.
  EXPECT_LT(ended - cancelled_at, std::chrono::seconds(60));
  EXPECT_EQ(o.out, "");
  EXPECT_TRUE(StateLeft().empty());
  EXPECT_GE(running, 1);
  EXPECT_EQ(CountProcesses(marker, true), 0);
  EXPECT_EQ(OpenFdCount(), fds_before);
}

TEST_P(RuntimeExecutorTest, CancelBeforeStartRunsNothing) {
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("early"));
  Output o;
  RunRequest r = Request({"/bin/echo", "x"});
  r.stdio = o.stdio();
  Status s = ex_->Run(ctx, r);
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(o.out, "");
  EXPECT_TRUE(StateLeft().empty());
}

TEST_P(RuntimeExecutorTest, TenRunsInParallel) {
  std::vector<std::thread> threads;
  std::vector<Output> outs(10);
  std::vector<Status> results(10);
  for (int i = 0; i < 10; i++) {
    threads.emplace_back([&, i] {
      RunRequest r = Request({"/bin/sh", "-c", "echo run-" + std::to_string(i)});
      r.stdio = outs[i].stdio();
      results[i] = ex_->Run(Context::Background(), r);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 10; i++) {
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
    EXPECT_EQ(outs[i].out, "run-" + std::to_string(i) + "\n");
  }
  EXPECT_TRUE(StateLeft().empty());
}

TEST_P(RuntimeExecutorTest, SandboxCannotMountInsecureCan) {
  Output o;
  Status s = Sh("mkdir -p /m && mount -t tmpfs none /m", o);
  EXPECT_FALSE(s.ok());
  RunRequest r = Request({});
  r.process.security = SecurityMode::kInsecure;
  Output p;
  Status ok = Sh("mkdir -p /m && mount -t tmpfs none /m && echo mounted", p, &r);
  EXPECT_TRUE(ok.ok()) << ok.ToString() << p.err;
  EXPECT_EQ(p.out, "mounted\n");
}

TEST_P(RuntimeExecutorTest, StaleContainersAndBundlesAreRemovedAtStart) {
  // A container left running by a "crashed daemon", and a stale bundle.
  std::string bundle = state() + "/bundles/stale1";
  fs::create_directories(bundle);
  std::string seconds = std::to_string(4000 + getpid() % 1000);
  std::string cmdline = "/bin/sleep" + std::string(1, '\0') + seconds + std::string(1, '\0');
  RunRequest r = Request({"/bin/sleep", seconds});
  SpecOptions so;
  so.id = "stale1";
  so.hosts_path = "/etc/hosts";
  so.resolv_conf_path = "/etc/resolv.conf";
  auto spec = GenerateSpec(r, so);
  ASSERT_TRUE(spec.ok());
  std::ofstream(bundle + "/config.json") << spec->dump();
  std::string runtime = GetParam() + " --root " + state() + "/" + ex_->name();
  // Whatever happens below, the container does not outlive the test.
  struct Guard {
    std::string cmd;
    ~Guard() { (void)!system(cmd.c_str()); }
  } guard{runtime + " delete --force stale1 >/dev/null 2>&1"};
  ASSERT_EQ(
      system(
          (runtime + " run -d --bundle " + bundle + " stale1 </dev/null >/dev/null 2>&1").c_str()),
      0);
  for (int i = 0; i < 100 && CountProcesses(cmdline) == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(CountProcesses(cmdline), 1);
  ex_.reset();
  auto ex = NewRuntimeExecutor({GetParam(), state(), "", false, "", {}});
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  ex_ = std::move(*ex);
  EXPECT_TRUE(StateLeft().empty());
  EXPECT_EQ(CountProcesses(cmdline), 0);
}

// CNI: a bridge + host-local network on a private subnet; each run gets its own netns.
class CniExecutorTest : public ::testing::Test {
 protected:
  static constexpr char kBridge[] = "kilntest0";
  static constexpr char kPlugins[] = "/usr/lib/cni";

  void SetUp() override {
    std::string skip = testing::RuntimeTestSkipReason("runc");
    if (!skip.empty()) GTEST_SKIP() << skip;
    if (access((std::string(kPlugins) + "/bridge").c_str(), X_OK) != 0) {
      GTEST_SKIP() << kPlugins << "/bridge is missing (containernetworking-plugins)";
    }
    ASSERT_EQ(testing::MakeBusyboxRootfs(dir_.Sub("rootfs")), "");
    links_before_ = Links();
  }
  void TearDown() override {
    ex_.reset();
    (void)RunCommand({"/bin/sh", "-c", std::string("ip link del ") + kBridge + " 2>/dev/null"});
  }

  std::string Ipam() const { return dir_.Sub("ipam"); }
  std::string NetnsDir() const { return dir_.Sub("state") + "/netns"; }

  // Writes the config and starts an executor over it.
  Status Start(const std::string& subnet) {
    std::string conf = dir_.Sub("net.conflist");
    nlohmann::json c = {{"cniVersion", "1.0.0"},
                        {"name", "kilntest"},
                        {"plugins",
                         {{{"type", "bridge"},
                           {"bridge", kBridge},
                           {"isGateway", true},
                           {"ipam",
                            {{"type", "host-local"},
                             {"dataDir", Ipam()},
                             {"ranges", {{{{"subnet", subnet}}}}}}}}}}};
    std::ofstream(conf) << c.dump();
    RuntimeOptions o{"runc", dir_.Sub("state"), "", false, "", {}};
    o.cni_config_path = conf;
    o.cni_binary_dirs = {"/nonexistent", kPlugins};
    auto ex = NewRuntimeExecutor(o);
    if (!ex.ok()) return ex.status();
    ex_ = std::move(*ex);
    return Status::Ok();
  }
  Status Sh(const std::string& script, Output& o, NetworkMode net = NetworkMode::kDefault) {
    RunRequest r;
    r.rootfs = dir_.Sub("rootfs");
    r.process.args = {"/bin/sh", "-c", script};
    r.process.env = {"PATH=/bin"};
    r.process.network = net;
    r.stdio = o.stdio();
    return ex_->Run(Context::Background(), r);
  }
  static std::set<std::string> Links() {
    std::set<std::string> l;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/net", ec))
      l.insert(e.path().filename());
    return l;
  }
  // What a run may leave: netns files, netns mounts, host veths, reserved addresses.
  std::vector<std::string> Leftovers() {
    std::vector<std::string> left;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(NetnsDir(), ec)) left.push_back(e.path());
    if (ReadTestFile("/proc/self/mountinfo").find(NetnsDir()) != std::string::npos) {
      left.push_back("a mount under " + NetnsDir());
    }
    for (const auto& l : Links()) {
      if (!links_before_.count(l) && l != kBridge) left.push_back("link " + l);
    }
    for (const auto& e : fs::directory_iterator(Ipam() + "/kilntest", ec)) {
      std::string n = e.path().filename();
      if (n != "lock" && n.rfind("last_reserved_ip", 0) != 0) left.push_back("ipam " + n);
    }
    return left;
  }

  TempDir dir_;
  std::set<std::string> links_before_;
  std::unique_ptr<Executor> ex_;
};

TEST_F(CniExecutorTest, EachRunGetsItsOwnAddressAndNothingIsLeft) {
  ASSERT_TRUE(Start("10.231.0.0/24").ok());
  int tasks_before = static_cast<int>(
      std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator()));
  int fds_before = OpenFdCount();
  Output first;
  Status s = Sh("ip -o link show lo; ip -o -4 addr show eth0", first);
  if (!s.ok() && s.message().find("cni plugin \"bridge\" ADD") != std::string::npos) {
    GTEST_SKIP() << "cannot create a bridge here: " << s.message();
  }
  ASSERT_TRUE(s.ok()) << s.ToString() << first.err;
  EXPECT_THAT(first.out, HasSubstr("LOOPBACK,UP"));
  EXPECT_THAT(first.out, HasSubstr("inet 10.231.0."));

  Output a, b;
  Status sa, sb;
  std::thread ta([&] { sa = Sh("ip -o -4 addr show eth0; sleep 1", a); });
  std::thread tb([&] { sb = Sh("ip -o -4 addr show eth0; sleep 1", b); });
  ta.join();
  tb.join();
  ASSERT_TRUE(sa.ok()) << sa.ToString() << a.err;
  ASSERT_TRUE(sb.ok()) << sb.ToString() << b.err;
  auto addr = [](const std::string& out) {
    size_t p = out.find("inet ");
    return p == std::string::npos ? "" : out.substr(p + 5, out.find(' ', p + 5) - p - 5);
  };
  EXPECT_THAT(addr(a.out), ::testing::StartsWith("10.231.0.")) << a.out;
  EXPECT_THAT(addr(b.out), ::testing::StartsWith("10.231.0.")) << b.out;
  EXPECT_NE(addr(a.out), addr(b.out));

  // The host network and no network are not CNI's.
  Output none;
  ASSERT_TRUE(Sh("ip -o link | grep -c ': '", none, NetworkMode::kNone).ok()) << none.err;
  EXPECT_EQ(none.out, "1\n");

  EXPECT_THAT(Leftovers(), ::testing::IsEmpty());
  EXPECT_EQ(OpenFdCount(), fds_before);
  EXPECT_EQ(static_cast<int>(
                std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator())),
            tasks_before);
}

TEST_F(CniExecutorTest, PluginFailureIsNamedAndCleanedUp) {
  ASSERT_TRUE(Start("not-a-subnet").ok());
  Output o;
  Status s = Sh("true", o);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("cni plugin \"bridge\" ADD (network \"kilntest\") failed"));
  EXPECT_THAT(s.message(), HasSubstr("not-a-subnet"));
  EXPECT_THAT(Leftovers(), ::testing::IsEmpty());
}

TEST(CniStartTest, MissingPluginIsNamed) {
  TempDir dir;
  std::string conf = dir.Sub("cni.json");
  std::ofstream(conf) << R"({"cniVersion":"1.0.0","name":"n","type":"kiln-no-such-plugin"})";
  CniOptions o{conf, {dir.Sub("bin")}, dir.Sub("netns")};
  auto n = CniNetwork::New(o);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(), "cni plugin \"kiln-no-such-plugin\" not found in " +
                                      dir.Sub("bin") + " (set --oci-cni-binary-dir)");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RuntimeExecutorTest, ::testing::Values("runc", "crun"));

TEST(RuntimeExecutorStartTest, MissingRuntimeIsNamed) {
  auto ex =
      NewRuntimeExecutor({"kiln-no-such-runtime", "/tmp/kiln-unused-state", "", false, "", {}});
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().message(), "failed to find kiln-no-such-runtime binary in PATH");
}

}  // namespace
}  // namespace kiln::executor
