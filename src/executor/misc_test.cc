// Small pieces: exit errors, runtime log errors, the runtime check, capabilities, seccomp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "executor/capabilities.h"
#include "executor/exit_error.h"
#include "util/go_quote.h"
#include "executor/runtime_check.h"
#include "executor/seccomp_default.h"
#include "executor/subprocess.h"

#include <chrono>
#include <thread>

namespace kiln::executor {
namespace {

using ::testing::HasSubstr;

TEST(ExitErrorTest, MessageIsBuildkits) {
  Status s = ProcessExitError({"/bin/sh", "-c", "false"}, 1);
  EXPECT_EQ(s.code(), Code::kUnknown);
  EXPECT_EQ(s.message(),
            "process \"/bin/sh -c false\" did not complete successfully: exit code: 1");
  ASSERT_TRUE(s.details().exit_code.has_value());
  EXPECT_EQ(*s.details().exit_code, 1);
}

TEST(ExitErrorTest, ArgsAreGoQuoted) {
  EXPECT_EQ(GoQuote("echo \"hi\"\\n\tx\x01 é"), "\"echo \\\"hi\\\"\\\\n\\tx\\x01 é\"");
  Status s = ProcessExitError({"nosuch"}, 1, "runc run failed: exec: \"nosuch\": not found");
  EXPECT_EQ(s.message(),
            "process \"nosuch\" did not complete successfully: runc run failed: "
            "exec: \"nosuch\": not found");
  EXPECT_EQ(*s.details().exit_code, 1);
}

TEST(ExitErrorTest, RuntimeLogErrorsPicksErrorEntries) {
  EXPECT_EQ(
      RuntimeLogErrors("{\"level\":\"warning\",\"msg\":\"w\"}\n"
                       "not json\n"
                       "{\"level\":\"error\",\"msg\":\"runc run failed: boom\",\"time\":\"t\"}\n"
                       "{\"level\":5,\"msg\":\"odd\"}\n"
                       "{\"level\":\"error\",\"msg\":\"second\"}\n"),
      "runc run failed: boom; second");
  EXPECT_EQ(RuntimeLogErrors(""), "");
}

TEST(RuntimeCheckTest, CrunRefusesHybridCgroupsWithControllers) {
  const std::string crun = "crun version 1.8.1\ncommit: f8a0\nrundir: /run/crun\n";
  const std::string runc = "runc version 1.1.5+ds1\ncommit: 1.1.5\n";
  CgroupLayout hybrid{true, "hugetlb"};
  Status s = CheckRuntimeSupports(crun, hybrid);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "crun cannot start containers on this host: cgroups are in hybrid mode (v1 "
            "controllers with cgroup2 at /sys/fs/cgroup/unified, which has controllers: "
            "hugetlb); use runc");
  EXPECT_TRUE(CheckRuntimeSupports(runc, hybrid).ok());
  EXPECT_TRUE(CheckRuntimeSupports(crun, CgroupLayout{}).ok());
  EXPECT_TRUE(CheckRuntimeSupports(crun, CgroupLayout{true, ""}).ok());
}

TEST(RuntimeCheckTest, LookPathFindsShAndNamesWhatIsMissing) {
  auto sh = LookPath("sh");
  ASSERT_TRUE(sh.ok());
  EXPECT_THAT(*sh, HasSubstr("/sh"));
  auto missing = LookPath("kiln-no-such-runtime");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "failed to find kiln-no-such-runtime binary in PATH");
}

TEST(CapabilitiesTest, ParsesStatusMask) {
  auto mask = ParseCapabilityMask(
      "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\n", "CapEff");
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, 0xa80425fbULL);
  // Docker's default set is the same 14 as BuildKit's.
  std::vector<std::string> names = CapabilityNames(*mask);
  std::vector<std::string> want = DefaultCapabilities();
  std::sort(names.begin(), names.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);
  EXPECT_FALSE(ParseCapabilityMask("Name:\tx\n", "CapEff").ok());
}

TEST(SeccompTest, DefaultProfileDeniesByDefaultAndGuardsNamespaces) {
  nlohmann::json p = DefaultSeccompProfile(DefaultCapabilities());
  EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(p["defaultErrnoRet"], 1);
  auto allowed = [&p](const std::string& name) {
    for (const auto& r : p["syscalls"]) {
      if (r["action"] != "SCMP_ACT_ALLOW" || r.contains("args")) continue;
      for (const auto& n : r["names"]) {
        if (n == name) return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(allowed("execve"));
  EXPECT_TRUE(allowed("chroot"));  // CAP_SYS_CHROOT is in the default set
  EXPECT_FALSE(allowed("mount"));
  EXPECT_FALSE(allowed("unshare"));
  EXPECT_FALSE(allowed("clone"));  // only with the namespace flags masked out
  EXPECT_FALSE(allowed("ptrace"));
  nlohmann::json admin = DefaultSeccompProfile({"CAP_SYS_ADMIN"});
  EXPECT_THAT(admin.dump(), HasSubstr("\"mount\""));
  EXPECT_THAT(admin.dump(), ::testing::Not(HasSubstr("\"errnoRet\"")));
}

TEST(RunCommandTest, ATimeoutKillsTheWholeProcessGroup) {
  CommandOptions o;
  o.timeout = std::chrono::milliseconds(300);
  auto t0 = std::chrono::steady_clock::now();
  // The grandchild keeps stdout open: it must be killed too, or the call would wait for it.
  auto r = RunCommand({"/bin/sh", "-c", "sleep 30 & sleep 30"}, o);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "/bin/sh did not finish within 300 ms");
  EXPECT_LT(took, std::chrono::seconds(20));
}

TEST(RunCommandTest, CancellingTheContextStopsTheCommand) {
  Context ctx = Context::Background().Child();
  CommandOptions o;
  o.ctx = &ctx;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ctx.Cancel(Cancelled("build cancelled"));
  });
  auto r = RunCommand({"/bin/sh", "-c", "sleep 30"}, o);
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "build cancelled");
}

TEST(RunCommandTest, AFastCommandIsUnaffectedByItsTimeout) {
  CommandOptions o;
  o.timeout = std::chrono::seconds(30);
  o.stdin_data = "in";
  auto r = RunCommand({"/bin/cat"}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->out, "in");
  EXPECT_EQ(r->exit_code, 0);
}

}  // namespace
}  // namespace kiln::executor
