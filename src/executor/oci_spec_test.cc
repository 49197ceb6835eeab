#include "executor/oci_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "executor/capabilities.h"

namespace kiln::executor {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

RunRequest Request() {
  RunRequest r;
  r.rootfs = "/var/lib/kiln/mnt/1";
  r.process.args = {"/bin/sh", "-c", "true"};
  r.process.env = {"PATH=/usr/bin:/bin"};
  r.process.cwd = "/work";
  return r;
}

SpecOptions Options() {
  SpecOptions o;
  o.id = "abc";
  o.user = {1000, 50, {50, 100}};
  o.hosts_path = "/state/bundles/abc/hosts";
  o.resolv_conf_path = "/state/bundles/abc/resolv.conf";
  o.insecure_caps = {"CAP_CHOWN", "CAP_SYS_ADMIN"};
  o.insecure_loop_devices = 2;
  return o;
}

json Spec(const RunRequest& r, const SpecOptions& o = Options()) {
  auto s = GenerateSpec(r, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : json();
}

std::vector<std::string> Destinations(const json& spec) {
  std::vector<std::string> out;
  for (const auto& m : spec["mounts"]) out.push_back(m["destination"]);
  return out;
}

const json* FindMount(const json& spec, const std::string& dest) {
  for (const auto& m : spec["mounts"]) {
    if (m["destination"] == dest) return &m;
  }
  return nullptr;
}

std::vector<std::string> NamespaceTypes(const json& spec) {
  std::vector<std::string> out;
  for (const auto& n : spec["linux"]["namespaces"]) out.push_back(n["type"]);
  return out;
}

TEST(OciSpecTest, ProcessHasArgsEnvCwdUserAndNoTerminal) {
  json s = Spec(Request());
  const json& p = s["process"];
  EXPECT_EQ(p["args"], json({"/bin/sh", "-c", "true"}));
  EXPECT_EQ(p["env"], json({"PATH=/usr/bin:/bin"}));
  EXPECT_EQ(p["cwd"], "/work");
  EXPECT_EQ(p["terminal"], false);
  EXPECT_EQ(p["user"]["uid"], 1000);
  EXPECT_EQ(p["user"]["gid"], 50);
  // the primary group first, then the supplementary ones without duplicates
  EXPECT_EQ(p["user"]["additionalGids"], json({50, 100}));
  EXPECT_EQ(p["noNewPrivileges"], false);  // BuildKit: oci.WithNewPrivileges
  EXPECT_FALSE(p.contains("rlimits"));     // BuildKit resets containerd's RLIMIT_NOFILE
  EXPECT_EQ(s["root"]["path"], "/var/lib/kiln/mnt/1");
  EXPECT_EQ(s["root"]["readonly"], false);
}

TEST(OciSpecTest, HostnameDefaultsToBuildkitsandbox) {
  RunRequest r = Request();
  EXPECT_EQ(Spec(r)["hostname"], "buildkitsandbox");
  r.process.hostname = "myhost";
  EXPECT_EQ(Spec(r)["hostname"], "myhost");
}

TEST(OciSpecTest, DefaultMountsAreBuildkitsWithoutRun) {
  json s = Spec(Request());
  EXPECT_THAT(Destinations(s),
              ElementsAre("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                          "/etc/resolv.conf", "/etc/hosts", "/sys/fs/cgroup"));
  EXPECT_EQ((*FindMount(s, "/dev"))["options"],
            json({"nosuid", "strictatime", "mode=755", "size=65536k"}));
  EXPECT_EQ((*FindMount(s, "/dev/pts"))["options"],
            json({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  EXPECT_EQ((*FindMount(s, "/dev/shm"))["options"],
            json({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  EXPECT_EQ((*FindMount(s, "/sys"))["options"], json({"nosuid", "noexec", "nodev", "ro"}));
  EXPECT_EQ((*FindMount(s, "/sys/fs/cgroup"))["options"],
            json({"ro", "nosuid", "noexec", "nodev"}));
  const json& hosts = *FindMount(s, "/etc/hosts");
  EXPECT_EQ(hosts["source"], "/state/bundles/abc/hosts");
  EXPECT_EQ(hosts["options"], json({"nosuid", "noexec", "nodev", "rbind", "ro"}));
  EXPECT_EQ((*FindMount(s, "/etc/resolv.conf"))["source"], "/state/bundles/abc/resolv.conf");
}

TEST(OciSpecTest, RequestMountsFollowAndReplaceSameDestination) {
  RunRequest r = Request();
  r.mounts.push_back({MountSpec::Type::kBind, "/src", "/host/ctx", true, 0});
  r.mounts.push_back({MountSpec::Type::kBind, "/out/", "/host/file.txt", false, 0});
  r.mounts.push_back({MountSpec::Type::kTmpfs, "/tmp", "", false, 1 << 20});
  r.mounts.push_back({MountSpec::Type::kTmpfs, "/ro-tmp", "", true, 0});
  r.mounts.push_back({MountSpec::Type::kBind, "/etc/hosts", "/host/myhosts", true, 0});
  json s = Spec(r);
  EXPECT_THAT(Destinations(s), ElementsAre("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                           "/sys", "/etc/resolv.conf", "/etc/hosts",
                                           "/sys/fs/cgroup", "/src", "/out", "/tmp", "/ro-tmp"));
  EXPECT_EQ(*FindMount(s, "/src"), json({{"destination", "/src"},
                                         {"type", "bind"},
                                         {"source", "/host/ctx"},
                                         {"options", {"rbind", "ro"}}}));
  EXPECT_EQ((*FindMount(s, "/out"))["options"], json({"rbind"}));
  EXPECT_EQ(*FindMount(s, "/tmp"), json({{"destination", "/tmp"},
                                         {"type", "tmpfs"},
                                         {"source", "tmpfs"},
                                         {"options", {"nosuid", "size=1048576"}}}));
  EXPECT_EQ((*FindMount(s, "/ro-tmp"))["options"], json({"nosuid", "ro"}));
  EXPECT_EQ((*FindMount(s, "/etc/hosts"))["source"], "/host/myhosts");  // the request's wins
}

TEST(OciSpecTest, BadMountsAreInvalidArguments) {
  RunRequest r = Request();
  r.mounts.push_back({MountSpec::Type::kBind, "relative", "/x", false, 0});
  auto s = GenerateSpec(r, Options());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("\"relative\""));
  r.mounts = {{MountSpec::Type::kBind, "/x", "", false, 0}};
  EXPECT_THAT(GenerateSpec(r, Options()).status().message(), HasSubstr("/x has no source"));
}

TEST(OciSpecTest, NamespacesPerNetworkMode) {
  struct Case {
    NetworkMode mode;
    std::string default_netns;
    std::vector<std::string> types;
    std::string netns_path;
  };
  const Case cases[] = {
      {NetworkMode::kDefault, "", {"pid", "ipc", "uts", "mount"}, ""},
      {NetworkMode::kDefault,
       "/run/netns/cni-1",
       {"pid", "ipc", "uts", "mount", "network"},
       "/run/netns/cni-1"},
      {NetworkMode::kHost, "/run/netns/cni-1", {"pid", "ipc", "uts", "mount"}, ""},
      {NetworkMode::kNone, "", {"pid", "ipc", "uts", "mount", "network"}, ""},
  };
  for (const auto& c : cases) {
    RunRequest r = Request();
    r.process.network = c.mode;
    SpecOptions o = Options();
    o.default_netns = c.default_netns;
    json s = Spec(r, o);
    EXPECT_EQ(NamespaceTypes(s), c.types) << static_cast<int>(c.mode) << c.default_netns;
    const json& ns = s["linux"]["namespaces"];
    if (ns.back()["type"] == "network") {
      EXPECT_EQ(ns.back().value("path", ""), c.netns_path);
    }
  }
}

TEST(OciSpecTest, SandboxHasDefaultCapsSeccompMaskedAndReadonlyPaths) {
  json s = Spec(Request());
  json caps = DefaultCapabilities();
  EXPECT_EQ(caps, json({"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}));
  const json& c = s["process"]["capabilities"];
  EXPECT_EQ(c["bounding"], caps);
  EXPECT_EQ(c["effective"], caps);
  EXPECT_EQ(c["permitted"], caps);
  EXPECT_FALSE(c.contains("ambient"));
  EXPECT_FALSE(c.contains("inheritable"));
  const json& l = s["linux"];
  EXPECT_EQ(l["maskedPaths"].size(), 11u);
  EXPECT_EQ(l["maskedPaths"][0], "/proc/acpi");
  EXPECT_EQ(l["readonlyPaths"],
            json({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
  EXPECT_EQ(l["resources"]["devices"], json::parse(R"([{"allow":false,"access":"rwm"}])"));
  EXPECT_EQ(l["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_FALSE(l.contains("devices"));
  EXPECT_FALSE(l.contains("cgroupsPath"));  // runc's default: a cgroup named after the id
}

TEST(OciSpecTest, InsecureIsPrivileged) {
  RunRequest r = Request();
  r.process.security = SecurityMode::kInsecure;
  json s = Spec(r);
  const json& c = s["process"]["capabilities"];
  for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"}) {
    EXPECT_EQ(c[set], json({"CAP_CHOWN", "CAP_SYS_ADMIN"})) << set;
  }
  const json& l = s["linux"];
  EXPECT_FALSE(l.contains("seccomp"));
  EXPECT_EQ(l["maskedPaths"], json::array());
  EXPECT_EQ(l["readonlyPaths"], json::array());
  EXPECT_EQ(l["resources"]["devices"], json::parse(R"([{"allow":true,"type":"c","access":"rwm"},
                            {"allow":true,"type":"b","access":"rwm"}])"));
  std::vector<std::string> devs;
  for (const auto& d : l["devices"]) devs.push_back(d["path"]);
  EXPECT_THAT(devs, ElementsAre("/dev/kmsg", "/dev/cuse", "/dev/fuse", "/dev/kvm", "/dev/net/tun",
                                "/dev/loop-control", "/dev/loop0", "/dev/loop1"));
  EXPECT_EQ((*FindMount(s, "/sys"))["options"], json({"nosuid", "noexec", "nodev"}));
  EXPECT_EQ((*FindMount(s, "/sys/fs/cgroup"))["options"], json({"nosuid", "noexec", "nodev"}));
}

TEST(OciSpecTest, UlimitsBecomeRlimits) {
  RunRequest r = Request();
  r.process.ulimits = {{"nofile", 1024, 4096}, {"NPROC", 10, 20}, {"core", -1, -1}};
  json rl = Spec(r)["process"]["rlimits"];
  EXPECT_EQ(rl, json::parse(R"([
    {"type":"RLIMIT_NOFILE","soft":1024,"hard":4096},
    {"type":"RLIMIT_NPROC","soft":10,"hard":20},
    {"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615}])"));
}

TEST(OciSpecTest, UnknownUlimitIsInvalidArgumentNamingIt) {
  RunRequest r = Request();
  r.process.ulimits = {{"nofile", 1, 1}, {"bogus", 1, 1}};
  auto s = GenerateSpec(r, Options());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "unknown ulimit \"bogus\"");
}

TEST(OciSpecTest, CgroupsPathFromParentAsBuildkitFormsIt) {
  EXPECT_EQ(CgroupsPath("", "id1"), "");
  EXPECT_EQ(CgroupsPath("mygroup", "id1"), "/mygroup/buildkit/id1");
  EXPECT_EQ(CgroupsPath("/a/b/", "id1"), "/a/b/buildkit/id1");
  EXPECT_EQ(CgroupsPath("system.slice:kiln:", "id1"), "system.slice:kiln:id1");
  RunRequest r = Request();
  r.process.cgroup_parent = "builds";
  EXPECT_EQ(Spec(r)["linux"]["cgroupsPath"], "/builds/buildkit/abc");
}

TEST(OciSpecTest, ReadonlyRootfsAndCleanCwd) {
  RunRequest r = Request();
  r.rootfs_readonly = true;
  r.process.cwd = "work/../dir/";
  json s = Spec(r);
  EXPECT_EQ(s["root"]["readonly"], true);
  EXPECT_EQ(s["process"]["cwd"], "/dir");
}

TEST(OciSpecTest, EmptyArgsAreRejected) {
  RunRequest r = Request();
  r.process.args.clear();
  EXPECT_EQ(GenerateSpec(r, Options()).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::executor
