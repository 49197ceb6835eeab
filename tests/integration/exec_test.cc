// Exec ops (RUN) through the real kilnd, kilnctl and runc on overlayfs: outputs, logs, exit
// codes, mounts, users, env and cwd, network and security modes with their entitlements.
// The root filesystem is a busybox tree sent as a local context.

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "llb/builder.h"
#include "llb/exec_builder.h"

namespace kiln::itest {
namespace {

using llb::ExecBuilder;
using llb::FileOpBuilder;
using llb::State;

// A minimal root filesystem: busybox-static with its applets, a user and a group.
void MakeBusyboxRootfs(const std::string& dir) {
  std::filesystem::create_directories(dir + "/bin");
  std::filesystem::copy_file("/bin/busybox", dir + "/bin/busybox");
  for (const char* applet : {"sh", "echo", "cat", "id", "ls", "mkdir", "sleep", "touch", "pwd", "env",
                             "hostname", "stat", "wc", "true", "false", "grep", "dd", "df", "rm", "md5sum", "test", "[", "ip"}) {
    std::filesystem::create_symlink("busybox", dir + "/bin/" + applet);
  }
  WriteFile(dir + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n");
  WriteFile(dir + "/etc/group", "root:x:0:\nstaff:x:50:user\nuser:x:1000:\n");
  std::filesystem::create_directories(dir + "/tmp");
  std::filesystem::create_directories(dir + "/root");
}

std::string Def(const State& s) {
  auto d = s.Marshal();
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? d->SerializeAsString() : "";
}

std::vector<std::string> Sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

// Every test runs with runc and with crun; where crun cannot start containers (hybrid cgroups)
// kilnd refuses to start with the reason, and the crun tests skip with it.
class ExecTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { Start({"--debug"}); }
  void Start(std::vector<std::string> flags) {
    flags.push_back("--oci-worker-binary");
    flags.push_back(GetParam());
    if (!daemon_.Start(flags)) {
      std::string log = daemon_.Log();
      if (GetParam() == "crun" && log.find("hybrid") != std::string::npos) {
        GTEST_SKIP() << "crun cannot start containers on this host: " << log.substr(log.size() > 400 ? log.size() - 400 : 0);
      }
      FAIL() << "kilnd did not start:\n" << log;
    }
    if (rootfs_.empty()) {
      rootfs_ = MakeTempDir("kiln-rootfs");
      MakeBusyboxRootfs(rootfs_);
      data_ = MakeTempDir("kiln-data");
      WriteFile(data_ + "/sub/input.txt", "input data\n");
      out_ = MakeTempDir("kiln-exec-out");
    }
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
    for (const auto& d : {rootfs_, data_, out_}) std::filesystem::remove_all(d);
  }
  RunResult Build(const State& s, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"build", "--progress=plain", "--local", "rootfs=" + rootfs_,
                                     "--local", "data=" + data_, "--output", "type=local,dest=" + out_};
    args.insert(args.end(), extra.begin(), extra.end());
    return daemon_.Kilnctl(args, Def(s));
  }
  State Root() const { return State::Local("rootfs"); }
  std::string Out(const std::string& p) const { return ReadFile(out_ + p); }

  Daemon daemon_;
  std::string rootfs_, data_, out_;
};

TEST_P(ExecTest, RunWritesIntoTheRootAndStreamsItsOutput) {
  State s = ExecBuilder(Root(), Sh("echo to-std''out; echo to-std''err >&2; echo hello > /out.txt")).Root();
  auto r = Build(s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Out("/out.txt"), "hello\n");
  EXPECT_TRUE(std::filesystem::exists(out_ + "/bin/busybox"));
  EXPECT_NE(r.err.find("to-stdout"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("to-stderr"), std::string::npos) << r.err;
  // The runtime's mount points for /etc/hosts and /etc/resolv.conf are not left in the output.
  EXPECT_FALSE(std::filesystem::exists(out_ + "/etc/hosts"));
  EXPECT_FALSE(std::filesystem::exists(out_ + "/etc/resolv.conf"));

  // The same build again is cached: the process does not run (the log lines differ from the
  // step's name by the quotes).
  std::filesystem::remove_all(out_);
  auto again = Build(s);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("to-stdout"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(out_ + "/out.txt"), "hello\n");
}

TEST_P(ExecTest, AFailingProcessGivesItsExitCode) {
  auto r = Build(ExecBuilder(Root(), Sh("echo before; exit 3")).Root());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("process \"/bin/sh -c echo before; exit 3\" did not complete successfully: exit code: 3"),
            std::string::npos)
      << r.err;
  // Valid exit codes turn it into a success.
  auto ok = Build(ExecBuilder(Root(), Sh("touch /x; exit 3")).ValidExitCodes({0, 3}).Root());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto zero = Build(ExecBuilder(Root(), Sh("true")).ValidExitCodes({3}).Root());
  EXPECT_NE(zero.exit_code, 0);
  EXPECT_NE(zero.err.find("exit code: 0"), std::string::npos) << zero.err;
  // An executable that does not exist is named.
  auto missing = Build(ExecBuilder(Root(), {"/no/such/binary"}).Root());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/no/such/binary"), std::string::npos) << missing.err;
}

TEST_P(ExecTest, UserEnvCwdAndHostsComeFromMeta) {
  // /tmp is world-writable only if made so: write as root first.
  State prep = ExecBuilder(Root(), Sh("chmod 1777 /tmp")).Root();
  State s = ExecBuilder(prep, Sh("id > /tmp/id; pwd > /tmp/pwd; echo $FOO > /tmp/env; echo $PATH > /tmp/path; "
                           "hostname > /tmp/hostname; cat /etc/hosts > /tmp/hosts; stat -c %u:%g /work/dir > /tmp/cwd"))
          .User("user")
          .Cwd("/work/dir")
          .Env("FOO", "bar baz")
          .Hostname("kilnhost")
          .ExtraHost("myregistry", "10.1.2.3")
          .Root();
  auto r = Build(s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = Out("/tmp/id");
  EXPECT_NE(id.find("uid=1000(user) gid=1000(user)"), std::string::npos) << id;
  EXPECT_NE(id.find("50(staff)"), std::string::npos) << id;
  EXPECT_EQ(Out("/tmp/pwd"), "/work/dir\n");
  EXPECT_EQ(Out("/tmp/env"), "bar baz\n");
  EXPECT_EQ(Out("/tmp/path"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  EXPECT_EQ(Out("/tmp/hostname"), "kilnhost\n");
  std::string hosts = Out("/tmp/hosts");
  EXPECT_NE(hosts.find("10.1.2.3"), std::string::npos) << hosts;
  EXPECT_NE(hosts.find("myregistry"), std::string::npos) << hosts;
  // The working directory was created for the user (seen inside: the local exporter gives every
  // file to the client's user).
  EXPECT_EQ(Out("/tmp/cwd"), "1000:1000\n");

  auto unknown = Build(ExecBuilder(Root(), Sh("true")).User("nobody-here").Root());
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("nobody-here"), std::string::npos) << unknown.err;
}

TEST_P(ExecTest, MountsBindSelectorScratchOutputAndTmpfs) {
  ExecBuilder e(Root(), Sh("cat /in/input.txt > /out/copied.txt; "
                           "if touch /in/x 2>/dev/null; then echo writable; else echo readonly; fi > /out/ro.txt; "
                           "df -k /scratch | tail -n 1 > /out/tmpfs.txt; touch /scratch/t"));
  e.Mount("/in", State::Local("data"), {.readonly = true, .selector = "sub", .output = false});
  e.Mount("/out", State::Scratch());
  e.Tmpfs("/scratch", 4 << 20);
  State out = e.GetMount("/out");
  auto r = Build(out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Out("/copied.txt"), "input data\n");
  EXPECT_EQ(Out("/ro.txt"), "readonly\n");
  EXPECT_NE(Out("/tmpfs.txt").find("4096"), std::string::npos) << Out("/tmpfs.txt");
  EXPECT_FALSE(std::filesystem::exists(out_ + "/bin"));  // only the mount's own tree

  // The root of the same op has no mount points left where the mounts were.
  std::filesystem::remove_all(out_);
  auto rr = Build(e.Root());
  ASSERT_EQ(rr.exit_code, 0) << rr.err;
  EXPECT_FALSE(std::filesystem::exists(out_ + "/in"));
  EXPECT_FALSE(std::filesystem::exists(out_ + "/out"));
  EXPECT_FALSE(std::filesystem::exists(out_ + "/scratch"));

  auto missing = Build(ExecBuilder(Root(), Sh("true"))
                           .Mount("/in", State::Local("data"), {.readonly = true, .selector = "nope", .output = false})
                           .Root());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
}

TEST_P(ExecTest, NetworkNoneHasOnlyLoopback) {
  auto r = Build(ExecBuilder(Root(), Sh("cat /proc/net/dev > /net.txt")).Network(pb::NONE).Root());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string dev = Out("/net.txt");
  int ifaces = 0;
  for (size_t p = dev.find(':'); p != std::string::npos; p = dev.find(':', p + 1)) ifaces++;
  EXPECT_EQ(ifaces, 1) << dev;
  EXPECT_NE(dev.find("lo:"), std::string::npos) << dev;
}

TEST_P(ExecTest, CniNetworkGivesEachStepItsOwnInterface) {
  if (access("/usr/lib/cni/bridge", X_OK) != 0) {
    GTEST_SKIP() << "/usr/lib/cni/bridge is missing (containernetworking-plugins)";
  }
  std::string dir = MakeTempDir("kiln-cni");
  WriteFile(dir + "/net.conflist", R"({"cniVersion":"1.0.0","name":"kiln-itest","plugins":[
    {"type":"bridge","bridge":"kilntest1","isGateway":true,
     "ipam":{"type":"host-local","dataDir":")" + dir + R"(/ipam","ranges":[[{"subnet":"10.231.1.0/24"}]]}}]})");
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      (void)!system("ip link del kilntest1 2>/dev/null");
      std::filesystem::remove_all(dir);
    }
  } cleanup{dir};
  daemon_.Stop();
  Start({"--debug", "--oci-worker-net", "cni", "--oci-cni-config-path", dir + "/net.conflist",
         "--oci-cni-binary-dir", "/opt/cni/bin:/usr/lib/cni"});
  auto workers = daemon_.Kilnctl({"debug", "workers", "--verbose"});
  ASSERT_EQ(workers.exit_code, 0) << workers.err;
  size_t label = workers.out.find("org.mobyproject.buildkit.worker.network:");
  ASSERT_NE(label, std::string::npos) << workers.out;
  EXPECT_EQ(workers.out.substr(workers.out.find_first_not_of(" \t", label + 40), 4), "cni\n")
      << workers.out;

  auto r = Build(ExecBuilder(Root(), Sh("ip -o -4 addr show eth0 > /net.txt")).Root());
  if (r.exit_code != 0 && r.err.find("cni plugin \"bridge\" ADD") != std::string::npos) {
    GTEST_SKIP() << "cannot create a bridge here: " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Out("/net.txt").find("inet 10.231.1."), std::string::npos) << Out("/net.txt");
  // The step's address went back to host-local's pool when the step ended.
  for (const auto& e : std::filesystem::directory_iterator(dir + "/ipam/kiln-itest")) {
    std::string n = e.path().filename();
    EXPECT_TRUE(n == "lock" || n.rfind("last_reserved_ip", 0) == 0) << n;
  }
}

TEST_P(ExecTest, EntitlementsAreDeniedUnlessGrantedByBoth) {
  State host = ExecBuilder(Root(), Sh("cat /proc/net/dev > /net.txt")).Network(pb::HOST).Root();
  State insecure = ExecBuilder(Root(), Sh("cat /proc/self/status | grep CapEff > /caps.txt"))
                       .Security(pb::INSECURE)
                       .Root();
  auto denied = Build(host);
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("network.host is not allowed"), std::string::npos) << denied.err;
  auto denied2 = Build(insecure);
  EXPECT_NE(denied2.err.find("security.insecure is not allowed"), std::string::npos) << denied2.err;
  auto not_granted = Build(host, {"--allow", "network.host"});
  EXPECT_NE(not_granted.exit_code, 0);
  EXPECT_NE(not_granted.err.find("granting entitlement network.host is not allowed by build daemon configuration"),
            std::string::npos)
      << not_granted.err;
  // Sandboxed steps have BuildKit's default set, far from every capability this host allows.
  std::string host_caps;
  {
    std::string status = ReadFile("/proc/self/status");
    size_t p = status.find("CapBnd:");
    ASSERT_NE(p, std::string::npos);
    host_caps = status.substr(p + 7, status.find('\n', p) - p - 7);
    host_caps = host_caps.substr(host_caps.find_first_not_of(" \t"));
  }
  auto sandboxed = Build(ExecBuilder(Root(), Sh("grep CapEff /proc/self/status > /caps.txt")).Root());
  ASSERT_EQ(sandboxed.exit_code, 0) << sandboxed.err;
  EXPECT_NE(Out("/caps.txt").find("00000000a80425fb"), std::string::npos) << Out("/caps.txt");

  daemon_.Stop();
  Start({"--debug", "--allow-insecure-entitlement", "network.host", "--allow-insecure-entitlement",
         "security.insecure"});
  auto granted = Build(host, {"--allow", "network.host"});
  ASSERT_EQ(granted.exit_code, 0) << granted.err;
  EXPECT_NE(Out("/net.txt").find("lo:"), std::string::npos);
  auto privileged = Build(insecure, {"--allow", "security.insecure"});
  ASSERT_EQ(privileged.exit_code, 0) << privileged.err;
  // Privileged: every capability of the host's bounding set.
  EXPECT_NE(Out("/caps.txt").find(host_caps), std::string::npos) << Out("/caps.txt") << " vs " << host_caps;
}

TEST_P(ExecTest, CacheMountsKeepTheirContentAcrossBuildsButNotInTheResult) {
  auto step = [&](const std::string& tag) {
    return ExecBuilder(Root(), Sh("echo " + tag + " >> /cache/log; cat /cache/log > /seen.txt"))
        .Cache("/cache", "kiln-test-log", pb::SHARED)
        .Root();
  };
  ASSERT_EQ(Build(step("one")).exit_code, 0);
  auto r = Build(step("two"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Out("/seen.txt"), "one\ntwo\n");
  EXPECT_FALSE(std::filesystem::exists(out_ + "/cache"));  // neither the content nor the stub
  // It survives a restart of kilnd.
  daemon_.Stop();
  Start({"--debug"});
  ASSERT_EQ(Build(step("three")).exit_code, 0);
  EXPECT_EQ(Out("/seen.txt"), "one\ntwo\nthree\n");
}

// 20 concurrent builds share one cache id in each sharing mode, several rounds: every build
// finishes; shared builds see each other's writes; private builds never see another's files
// while they run; locked builds never overlap.
TEST_P(ExecTest, CacheMountSharingModesUnderConcurrentBuilds) {
  const int rounds = getenv("KILN_CACHE_STRESS_ROUNDS") ? atoi(getenv("KILN_CACHE_STRESS_ROUNDS")) : 3;
  constexpr int kBuilds = 20;
  struct Mode {
    const char* name;
    pb::CacheSharingOpt opt;
  };
  for (Mode mode : {Mode{"shared", pb::SHARED}, Mode{"private", pb::PRIVATE}, Mode{"locked", pb::LOCKED}}) {
    for (int round = 0; round < rounds; round++) {
      std::string id = std::string("stress-") + mode.name + "-" + std::to_string(round);
      std::vector<std::future<RunResult>> builds;
      std::vector<std::string> outs;
      for (int i = 0; i < kBuilds; i++) {
        std::string me = "b" + std::to_string(i);
        // Exclusive modes: no other build's marker may appear while this one holds the cache.
        std::string script =
            "touch /cache/w-" + me + "; if ls /cache | grep -v w-" + me +
            " | grep -q w-; then echo overlap > /r.txt; else echo alone > /r.txt; fi; sleep 0.1; "
            "if ls /cache | grep -v w-" + me + " | grep -q w-; then echo overlap > /r.txt; fi; " +
            (mode.opt == pb::SHARED ? "" : "rm /cache/w-" + me + "; ") + "echo done >> /r.txt";
        State s = ExecBuilder(Root(), Sh(script)).Env("BUILD", me).Cache("/cache", id, mode.opt).Root();
        std::string out = MakeTempDir("kiln-stress-out");
        outs.push_back(out);
        std::string def = Def(s);
        builds.push_back(std::async(std::launch::async, [this, def, out] {
          return daemon_.Kilnctl({"build", "--progress=plain", "--local", "rootfs=" + rootfs_, "--output",
                                  "type=local,dest=" + out},
                                 def);
        }));
      }
      int overlaps = 0;
      for (int i = 0; i < kBuilds; i++) {
        RunResult r = builds[static_cast<size_t>(i)].get();
        ASSERT_EQ(r.exit_code, 0) << mode.name << " build " << i << ": " << r.err;
        std::string res = ReadFile(outs[static_cast<size_t>(i)] + "/r.txt");
        EXPECT_NE(res.find("done"), std::string::npos) << res;
        if (res.find("overlap") != std::string::npos) overlaps++;
        std::filesystem::remove_all(outs[static_cast<size_t>(i)]);
      }
      if (mode.opt == pb::SHARED) {
        // A later build of the id sees every build's marker.
        auto seen = Build(ExecBuilder(Root(), Sh("ls /cache | grep -c w- > /count.txt"))
                              .Env("ROUND", std::to_string(round))
                              .Cache("/cache", id, pb::SHARED)
                              .Root());
        ASSERT_EQ(seen.exit_code, 0) << seen.err;
        EXPECT_EQ(Out("/count.txt"), std::to_string(kBuilds) + "\n");
      } else {
        EXPECT_EQ(overlaps, 0) << mode.name << " round " << round;
      }
    }
  }
}

// Mounts under `dir` in this mount namespace (kilnd's: the tests run in the host's).
int MountsUnder(const std::string& dir) {
  std::string info = ReadFile("/proc/self/mountinfo");
  int n = 0;
  for (size_t p = info.find(" " + dir); p != std::string::npos; p = info.find(" " + dir, p + 1)) n++;
  return n;
}

// Entries one level below each directory of the executor's state (runtime state, bundles).
int StateEntries(const std::string& state_dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator(state_dir, ec)) {
    if (!d.is_directory()) continue;
    for (auto it = std::filesystem::directory_iterator(d.path(), ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      n++;
    }
  }
  return n;
}

// Processes on the host running `sleep 3600` (what the cancelled builds start).
int SleepersLeft() {
  int n = 0;
  for (const auto& d : std::filesystem::directory_iterator("/proc")) {
    std::string name = d.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = ReadFile(d.path().string() + "/cmdline");
    if (cmd == std::string("sleep\0" "3600\0", 11)) n++;
  }
  return n;
}

// The names of a process's threads, for a failure message.
std::string ThreadNames(pid_t pid) {
  std::string out;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string comm = ReadFile(t.path().string() + "/comm");
    out += t.path().filename().string() + ":" + comm.substr(0, comm.find('\n')) + " ";
  }
  return out;
}

TEST_P(ExecTest, FiftyBuildsLeaveNoMountStateFdOrThreadBehind) {
  const std::string state = daemon_.root() + "/worker/executor";
  // Warm up: lazily made threads and dirs exist before the baseline.
  ASSERT_EQ(Build(ExecBuilder(Root(), Sh("true")).Env("WARM", "1").Root()).exit_code, 0);
  EXPECT_NE(Build(ExecBuilder(Root(), Sh("exit 1")).Env("WARM", "2").Root()).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int threads0 = daemon_.Threads(), fds0 = daemon_.Fds();
  const int mounts0 = MountsUnder(daemon_.root()), state0 = StateEntries(state);
  const std::string names0 = ThreadNames(daemon_.pid());
  const int sleepers0 = SleepersLeft();
  int cancelled = 0;
  for (int i = 0; i < 50; i++) {
    std::string tag = std::to_string(i);
    if (i % 3 == 0) {
      auto r = Build(ExecBuilder(Root(), Sh("echo ok > /ok")).Env("I", tag).Root());
      ASSERT_EQ(r.exit_code, 0) << r.err;
    } else if (i % 3 == 1) {
      auto r = Build(ExecBuilder(Root(), Sh("echo failing; exit 7")).Env("I", tag).Root());
      ASSERT_NE(r.exit_code, 0);
      EXPECT_NE(r.err.find("exit code: 7"), std::string::npos) << r.err;
    } else {
      std::string def = Def(ExecBuilder(Root(), Sh("sleep 3600")).Env("I", tag).Root());
      pid_t pid = daemon_.StartKilnctl(
          {"build", "--local", "rootfs=" + rootfs_, "--output", "type=local,dest=" + out_}, def);
      // Interrupt once the process runs.
      for (int t = 0; t < 200 && SleepersLeft() == sleepers0; t++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      bool started = SleepersLeft() > sleepers0;
      kill(pid, SIGINT);
      int st = 0;
      bool exited = false;
      for (int t = 0; t < 200 && !exited; t++) {
        exited = waitpid(pid, &st, WNOHANG) == pid;
        if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!exited) {
        kill(pid, SIGINT);
        waitpid(pid, &st, 0);
      }
      ASSERT_TRUE(started) << "the build's process never started";
      cancelled++;
    }
  }
  EXPECT_GT(cancelled, 10);
  int threads = 0, fds = 0, mounts = 0, entries = 0, sleepers = 0;
  for (int t = 0; t < 300; t++) {
    threads = daemon_.Threads();
    fds = daemon_.Fds();
    mounts = MountsUnder(daemon_.root());
    entries = StateEntries(state);
    sleepers = SleepersLeft();
    if (threads <= threads0 && fds <= fds0 && mounts <= mounts0 && entries <= state0 && sleepers <= sleepers0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LE(threads, threads0) << "before: " << names0 << "\nafter: " << ThreadNames(daemon_.pid());
  EXPECT_LE(fds, fds0);
  EXPECT_LE(mounts, mounts0);
  EXPECT_LE(entries, state0);
  EXPECT_LE(sleepers, sleepers0);
  // kilnd keeps serving.
  EXPECT_EQ(Build(ExecBuilder(Root(), Sh("true")).Env("AFTER", "1").Root()).exit_code, 0);
}

// --- secrets and ssh (docs/dev/secrets.md) ---

std::string Md5(const std::string& data) {
  RunResult r = itest::Run({"md5sum"}, data);
  return r.out.substr(0, r.out.find(' '));
}

// Every regular file under `dir` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (ReadFile(it->path().string()).find(needle) != std::string::npos) {
      hits.push_back(it->path().string());
    }
  }
  return hits;
}

class SecretsExecTest : public ExecTest {
 protected:
  // kilnctl build with `env` added to its environment.
  RunResult BuildWith(const State& s, std::vector<std::string> extra,
                      const std::map<std::string, std::string>& env) {
    std::vector<std::string> argv = {BinDir() + "/kilnctl", "--addr", daemon_.addr(),
                                     "build", "--progress=plain", "--local", "rootfs=" + rootfs_,
                                     "--output", "type=local,dest=" + out_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return itest::Run(argv, Def(s), env);
  }
};

constexpr char kFileSecret[] = "file-secret-7c1e9a0b";
constexpr char kEnvSecret[] = "env-secret-52d4f6e3";

TEST_P(SecretsExecTest, SecretsAreReadableAtTheirDestAndLeaveNoTrace) {
  WriteFile(data_ + "/secret.txt", kFileSecret, 0600);
  ExecBuilder e(Root(), Sh("mkdir /res; "
                           "stat -c '%u:%g %a' /run/secrets/fsec > /res/fstat; "
                           "md5sum < /run/secrets/fsec > /res/fsum; "
                           "stat -c '%u:%g %a' /etc/esec > /res/estat; md5sum < /etc/esec > /res/esum; "
                           "md5sum < /tmp/relsec > /res/relsum; "
                           "echo -n \"$SENV\" | md5sum > /res/envsum; "
                           "if echo x > /run/secrets/fsec; then echo writable; else echo readonly; fi "
                           "> /res/ro 2>/dev/null"));
  e.Cwd("/tmp")
      .Secret("/run/secrets/fsec", "fsec", 1000, 50, 0440)
      .Secret("/etc/esec", "esec")
      .Secret("relsec", "esec")
      .SecretEnv("SENV", "fsec");
  e.op().mutable_meta()->set_removemountstubsrecursive(true);
  auto r = BuildWith(e.Root(),
                     {"--secret", "id=fsec,src=" + data_ + "/secret.txt", "--secret",
                      "id=esec,env=KILN_TEST_SECRET"},
                     {{"KILN_TEST_SECRET", kEnvSecret}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Out("/res/fstat"), "1000:50 440\n");
  EXPECT_EQ(Out("/res/estat"), "0:0 400\n");
  EXPECT_EQ(Out("/res/fsum").substr(0, 32), Md5(kFileSecret));
  EXPECT_EQ(Out("/res/esum").substr(0, 32), Md5(kEnvSecret));
  EXPECT_EQ(Out("/res/relsum").substr(0, 32), Md5(kEnvSecret));
  EXPECT_EQ(Out("/res/envsum").substr(0, 32), Md5(kFileSecret));
  EXPECT_EQ(Out("/res/ro"), "readonly\n");
  // Not in the result: no mount points left, no file with the values.
  EXPECT_FALSE(std::filesystem::exists(out_ + "/run"));
  EXPECT_FALSE(std::filesystem::exists(out_ + "/etc/esec"));
  EXPECT_FALSE(std::filesystem::exists(out_ + "/tmp/relsec"));
  for (const char* v : {kFileSecret, kEnvSecret}) {
    EXPECT_TRUE(FilesContaining(out_, v).empty()) << v;
    EXPECT_EQ(r.err.find(v), std::string::npos) << r.err;  // nor in the progress output
    EXPECT_EQ(daemon_.Log().find(v), std::string::npos) << "in the daemon log: " << v;
    // Nor in the daemon's root (cache keys, ref metadata, snapshots, executor bundles).
    auto in_root = FilesContaining(daemon_.root(), v);
    EXPECT_TRUE(in_root.empty()) << v << " in " << in_root.front();
  }
  // The secrets' tmpfs is gone.
  EXPECT_EQ(MountsUnder(daemon_.root() + "/worker/secrets"), 0);
}

TEST_P(SecretsExecTest, MissingSecretsFailByIdUnlessOptional) {
  auto required = BuildWith(ExecBuilder(Root(), Sh("true")).Secret("/s", "nope").Root(), {}, {});
  EXPECT_NE(required.exit_code, 0);
  EXPECT_NE(required.err.find("secret nope: not found"), std::string::npos) << required.err;

  auto env = BuildWith(ExecBuilder(Root(), Sh("true")).SecretEnv("X", "nope-env").Root(), {}, {});
  EXPECT_NE(env.exit_code, 0);
  EXPECT_NE(env.err.find("secret nope-env: not found"), std::string::npos) << env.err;

  WriteFile(data_ + "/other.txt", "other");
  auto optional = BuildWith(ExecBuilder(Root(), Sh("test ! -e /s && test -z \"$X\" && touch /ok"))
                                .Secret("/s", "nope", 0, 0, 0400, /*optional=*/true)
                                .SecretEnv("X", "nope", /*optional=*/true)
                                .Root(),
                            {"--secret", "id=other,src=" + data_ + "/other.txt"}, {});
  ASSERT_EQ(optional.exit_code, 0) << optional.err;
  EXPECT_TRUE(std::filesystem::exists(out_ + "/ok"));
}

TEST_P(SecretsExecTest, SSHAgentSocketIsForwardedAndReleased) {
  if (itest::Run({"sh", "-c", "command -v ssh-agent && command -v ssh-keygen && command -v ssh-add"})
          .exit_code != 0) {
    GTEST_SKIP() << "ssh-agent, ssh-keygen or ssh-add missing (openssh-client)";
  }
  const std::string dir = MakeTempDir("kiln-ssh-agent");
  const std::string sock = dir + "/agent.sock";
  RunResult agent = itest::Run({"ssh-agent", "-a", sock, "-s"});
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  size_t p = agent.out.find("SSH_AGENT_PID=");
  ASSERT_NE(p, std::string::npos) << agent.out;
  const pid_t agent_pid = std::atoi(agent.out.c_str() + p + 14);
  ASSERT_EQ(itest::Run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir + "/k"}).exit_code, 0);
  ASSERT_EQ(itest::Run({"ssh-add", "-q", dir + "/k"}, "", {{"SSH_AUTH_SOCK", sock}}).exit_code, 0);

  auto step = [&](const std::string& tag) {
    return ExecBuilder(Root(), Sh("mkdir /res; test -S /run/buildkit/ssh_agent.0 && "
                                  "stat -c '%u:%g %a' /run/buildkit/ssh_agent.0 > /res/ssh; "
                                  "stat -c '%a' /agent2 > /res/ssh2"))
        .SSH()
        .SSH("/agent2", "default", 1000, 1000, 0666)
        .Env("I", tag)
        .Root();
  };
  auto r = BuildWith(step("0"), {"--ssh", "default"}, {{"SSH_AUTH_SOCK", sock}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Out("/res/ssh"), "0:0 600\n");
  EXPECT_EQ(Out("/res/ssh2"), "666\n");
  EXPECT_FALSE(std::filesystem::exists(out_ + "/run/buildkit/ssh_agent.0"));

  // Without --ssh the step fails and says why; optional is skipped.
  auto none = BuildWith(step("1"), {}, {});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("no SSH key \"default\" forwarded from the client"), std::string::npos)
      << none.err;
  auto opt = BuildWith(ExecBuilder(Root(), Sh("test ! -e /a"))
                           .SSH("/a", "default", 0, 0, 0600, /*optional=*/true)
                           .Root(),
                       {}, {});
  EXPECT_EQ(opt.exit_code, 0) << opt.err;

  // No thread, fd or mount left by the forwarders.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int threads0 = daemon_.Threads(), fds0 = daemon_.Fds();
  for (int i = 0; i < 10; i++) {
    auto b = BuildWith(step("loop" + std::to_string(i)), {"--ssh", "default"},
                       {{"SSH_AUTH_SOCK", sock}});
    ASSERT_EQ(b.exit_code, 0) << b.err;
  }
  auto [threads, fds] = daemon_.WaitForThreadsAndFds(threads0, fds0);
  EXPECT_LE(threads, threads0);
  EXPECT_LE(fds, fds0);
  kill(agent_pid, SIGTERM);
  std::error_code ec;  // the agent removes its socket as it exits
  std::filesystem::remove_all(dir, ec);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, SecretsExecTest, ::testing::Values("runc", "crun"),
                         [](const auto& info) { return info.param; });

INSTANTIATE_TEST_SUITE_P(Runtimes, ExecTest, ::testing::Values("runc", "crun"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln::itest
