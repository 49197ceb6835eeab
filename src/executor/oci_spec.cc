#include "executor/oci_spec.h"

#include <algorithm>
#include <cctype>

#include "executor/capabilities.h"
#include "executor/etc_files.h"
#include "executor/seccomp_default.h"
#include "util/path.h"

namespace kiln::executor {
namespace {

using nlohmann::json;

json Mount(const char* dest, const char* type, const char* source,
           std::vector<std::string> options) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

// containerd's default Unix mounts without /run (BuildKit removes it so the image's /run shows,
// moby/buildkit#429).
json DefaultMounts() {
  json m = json::array();
  m.push_back(Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  m.push_back(Mount("/dev/pts", "devpts", "devpts",
                    {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  m.push_back(
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  m.push_back(Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  m.push_back(Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  return m;
}

json ReadonlyBind(const std::string& src, const char* dest) {
  return {{"destination", dest},
          {"type", "bind"},
          {"source", src},
          {"options", {"nosuid", "noexec", "nodev", "rbind", "ro"}}};
}

// Later mounts on the same destination replace earlier ones in place (BuildKit's dedupMounts).
json Dedup(const json& mounts) {
  json out = json::array();
  std::vector<std::string> seen;
  for (const auto& m : mounts) {
    std::string d = m["destination"].get<std::string>();
    auto it = std::find(seen.begin(), seen.end(), d);
    if (it != seen.end()) {
      out[static_cast<size_t>(it - seen.begin())] = m;
    } else {
      seen.push_back(d);
      out.push_back(m);
    }
  }
  return out;
}

Result<json> RequestMount(const MountSpec& m) {
  if (m.dest.empty() || m.dest[0] != '/') {
    return InvalidArgument("mount destination \"" + m.dest + "\" is not an absolute path");
  }
  std::string dest = CleanPath(m.dest);
  if (m.type == MountSpec::Type::kTmpfs) {
    std::vector<std::string> opts = {"nosuid"};
    if (m.readonly) opts.push_back("ro");
    if (m.tmpfs_size > 0) opts.push_back("size=" + std::to_string(m.tmpfs_size));
    return json{{"destination", dest}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", opts}};
  }
  if (m.source.empty()) return InvalidArgument("bind mount " + dest + " has no source");
  std::vector<std::string> opts = {"rbind"};
  if (m.readonly) opts.push_back("ro");
  return json{{"destination", dest}, {"type", "bind"}, {"source", m.source}, {"options", opts}};
}

json Namespaces(NetworkMode net, const std::string& default_netns) {
  json ns =
      json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  switch (net) {
    case NetworkMode::kHost:
      break;
    case NetworkMode::kNone:
      ns.push_back({{"type", "network"}});
      break;
    case NetworkMode::kDefault:
      if (!default_netns.empty()) ns.push_back({{"type", "network"}, {"path", default_netns}});
      break;
  }
  return ns;
}

json InsecureDevices(int loops) {
  json d = json::array();
  auto dev = [&d](std::string path, const char* type, int major, int minor) {
    d.push_back({{"path", path}, {"type", type}, {"major", major}, {"minor", minor}});
  };
  dev("/dev/kmsg", "c", 1, 11);
  dev("/dev/cuse", "c", 10, 203);
  dev("/dev/fuse", "c", 10, 229);
  dev("/dev/kvm", "c", 10, 232);
  dev("/dev/net/tun", "c", 10, 200);
  dev("/dev/loop-control", "c", 10, 237);
  for (int i = 0; i < loops; i++) dev("/dev/loop" + std::to_string(i), "b", 7, i);
  return d;
}

}  // namespace

std::string CgroupsPath(const std::string& cgroup_parent, const std::string& id) {
  if (cgroup_parent.empty()) return "";
  if (cgroup_parent.find(".slice") != std::string::npos && cgroup_parent.back() == ':') {
    return cgroup_parent + id;
  }
  return CleanPath("/" + cgroup_parent + "/buildkit/" + id);
}

Result<std::string> RlimitType(const std::string& name) {
  static const char* const kKnown[] = {
      "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
      "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* k : kKnown) {
    if (lower == k) {
      std::string upper = lower;
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      return "RLIMIT_" + upper;
    }
  }
  return InvalidArgument("unknown ulimit \"" + name + "\"");
}

Result<json> GenerateSpec(const RunRequest& req, const SpecOptions& opts) {
  const ProcessSpec& p = req.process;
  if (p.args.empty()) return InvalidArgument("no process args");
  bool insecure = p.security == SecurityMode::kInsecure;

  json caps_list = insecure ? opts.insecure_caps : DefaultCapabilities();
  json caps = {{"bounding", caps_list}, {"effective", caps_list}, {"permitted", caps_list}};
  if (insecure) {
    caps["inheritable"] = caps_list;
    caps["ambient"] = caps_list;
  }

  // containerd adds the primary group to the additional ones; runc setgroups() them.
  std::vector<uint32_t> gids = {opts.user.gid};
  for (uint32_t g : opts.user.additional_gids) {
    if (std::find(gids.begin(), gids.end(), g) == gids.end()) gids.push_back(g);
  }

  json process = {
      {"terminal", false},
      {"user", {{"uid", opts.user.uid}, {"gid", opts.user.gid}, {"additionalGids", gids}}},
      {"args", p.args},
      {"env", p.env},
      {"cwd", p.cwd.empty() ? "/" : CleanPath("/" + p.cwd)},
      {"capabilities", caps},
      // BuildKit allows setuid binaries in steps (oci.WithNewPrivileges).
      {"noNewPrivileges", false},
  };
  if (!p.ulimits.empty()) {
    json rl = json::array();
    for (const auto& u : p.ulimits) {
      KILN_ASSIGN_OR_RETURN(std::string type, RlimitType(u.name));
      rl.push_back({{"type", type},
                    {"hard", static_cast<uint64_t>(u.hard)},
                    {"soft", static_cast<uint64_t>(u.soft)}});
    }
    process["rlimits"] = rl;
  }

  json mounts = DefaultMounts();
  mounts.push_back(ReadonlyBind(opts.resolv_conf_path, "/etc/resolv.conf"));
  mounts.push_back(ReadonlyBind(opts.hosts_path, "/etc/hosts"));
  mounts.push_back(
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}));
  for (const auto& m : req.mounts) {
    KILN_ASSIGN_OR_RETURN(json jm, RequestMount(m));
    mounts.push_back(std::move(jm));
  }
  if (insecure) {
    // Writable sysfs and cgroupfs (containerd's WithWriteableSysfs / WithWriteableCgroupfs).
    for (auto& m : mounts) {
      if (m["type"] != "sysfs" && m["type"] != "cgroup") continue;
      auto& o = m["options"];
      o.erase(std::remove(o.begin(), o.end(), json("ro")), o.end());
    }
  }

  json linux_ = {
      {"namespaces", Namespaces(p.network, opts.default_netns)},
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"maskedPaths", json::array()},
      {"readonlyPaths", json::array()},
  };
  if (insecure) {
    linux_["resources"]["devices"] =
        json::array({{{"allow", true}, {"type", "c"}, {"access", "rwm"}},
                     {{"allow", true}, {"type", "b"}, {"access", "rwm"}}});
    linux_["devices"] = InsecureDevices(opts.insecure_loop_devices);
  } else {
    linux_["maskedPaths"] = {"/proc/acpi",          "/proc/asound",
                             "/proc/kcore",         "/proc/keys",
                             "/proc/latency_stats", "/proc/timer_list",
                             "/proc/timer_stats",   "/proc/sched_debug",
                             "/sys/firmware",       "/sys/devices/virtual/powercap",
                             "/proc/scsi"};
    linux_["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                               "/proc/sysrq-trigger"};
    linux_["seccomp"] = DefaultSeccompProfile(DefaultCapabilities());
  }
  std::string cg = CgroupsPath(p.cgroup_parent, opts.id);
  if (!cg.empty()) linux_["cgroupsPath"] = cg;

  return json{
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", req.rootfs}, {"readonly", req.rootfs_readonly}}},
      {"hostname", p.hostname.empty() ? kDefaultHostname : p.hostname},
      {"mounts", Dedup(mounts)},
      {"linux", linux_},
  };
}

}  // namespace kiln::executor
