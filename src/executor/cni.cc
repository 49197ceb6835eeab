#include "executor/cni.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "executor/subprocess.h"
#include "util/log.h"
#include "util/path.h"

namespace kiln::executor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kIfName[] = "eth0";
constexpr char kLoopbackName[] = "cni-loopback";  // go-cni's WithLoNetwork
constexpr char kLoopbackVersion[] = "0.3.1";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status RequireString(const json& obj, const char* field, const std::string& where,
                     std::string* out) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_string() || it->get<std::string>().empty()) {
    return InvalidArgument(where + ": field \"" + field + "\" is missing or not a string");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

// "1.0.0" >= "0.4.0" on the numeric parts.
bool VersionAtLeast(const std::string& v, int major, int minor) {
  int a = 0, b = 0;
  if (sscanf(v.c_str(), "%d.%d", &a, &b) < 1) return false;
  return a > major || (a == major && b >= minor);
}

bool IsExecutable(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

Result<std::string> FindPlugin(const std::string& type, const std::vector<std::string>& dirs) {
  if (type.find('/') != std::string::npos) {
    return InvalidArgument("cni plugin type \"" + type + "\" must be a bare name");
  }
  for (const auto& d : dirs) {
    std::string p = d + "/" + type;
    if (IsExecutable(p)) return p;
  }
  std::string joined;
  for (const auto& d : dirs) joined += (joined.empty() ? "" : ":") + d;
  return FailedPrecondition("cni plugin \"" + type + "\" not found in " + joined +
                            " (set --oci-cni-binary-dir)");
}

// A fresh network namespace kept alive by a bind mount of it on `path`. A thread of our own
// enters it, so no other thread of the daemon changes namespace; the thread ends right after.
Status CreateNetns(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return ErrnoStatus(errno, "create netns file " + path);
  close(fd);
  Status st = Status::Ok();
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      st = ErrnoStatus(errno, "unshare network namespace");
      return;
    }
    if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      st = ErrnoStatus(errno, "bind-mount network namespace on " + path);
    }
  });
  t.join();
  if (!st.ok()) unlink(path.c_str());
  return st;
}

void RemoveNetns(const std::string& path) {
  if (umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    log::Warn("cni: unmount {}: {}", path, strerror(errno));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    log::Warn("cni: remove {}: {}", path, strerror(errno));
  }
}

std::string LoopbackStdin(const json& prev_result) {
  json c = {{"cniVersion", kLoopbackVersion}, {"name", kLoopbackName}, {"type", "loopback"}};
  if (!prev_result.is_null()) c["prevResult"] = prev_result;
  return c.dump();
}

}  // namespace

Result<CniConfig> ParseCniConfig(std::string_view data, const std::string& path) {
  std::string where = "cni config " + path;
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(where + ": not valid JSON");
  if (!j.is_object()) return InvalidArgument(where + ": not a JSON object");
  CniConfig c;
  c.path = path;
  c.is_list = EndsWith(path, ".conflist");
  KILN_RETURN_IF_ERROR(RequireString(j, "name", where, &c.name));
  KILN_RETURN_IF_ERROR(RequireString(j, "cniVersion", where, &c.cni_version));
  if (!c.is_list) {
    if (j.contains("plugins")) {
      return InvalidArgument(where + ": has \"plugins\" (a list) but is not named *.conflist");
    }
    std::string type;
    KILN_RETURN_IF_ERROR(RequireString(j, "type", where, &type));
    c.plugins.push_back(std::move(j));
    return c;
  }
  auto it = j.find("plugins");
  if (it == j.end() || !it->is_array() || it->empty()) {
    return InvalidArgument(where + ": field \"plugins\" is missing or not a non-empty list");
  }
  for (size_t i = 0; i < it->size(); i++) {
    const json& p = (*it)[i];
    std::string pwhere = where + ": plugins[" + std::to_string(i) + "]";
    if (!p.is_object()) return InvalidArgument(pwhere + ": not a JSON object");
    std::string type;
    KILN_RETURN_IF_ERROR(RequireString(p, "type", pwhere, &type));
    c.plugins.push_back(p);
  }
  return c;
}

Result<CniConfig> LoadCniConfig(const std::string& path) {
  std::ifstream f(path);
  if (!f) return ErrnoStatus(errno, "read cni config " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ParseCniConfig(ss.str(), path);
}

std::string CniPluginStdin(const CniConfig& c, size_t i, const json& prev_result) {
  json conf = c.plugins[i];
  if (c.is_list) {
    conf["name"] = c.name;
    conf["cniVersion"] = c.cni_version;
  }
  if (!prev_result.is_null()) conf["prevResult"] = prev_result;
  return conf.dump();
}

Status CniPluginError(const std::string& plugin, const std::string& command,
                      const std::string& network, int exit_code, const std::string& out,
                      const std::string& err) {
  std::string what =
      "cni plugin \"" + plugin + "\" " + command + " (network \"" + network + "\") failed: ";
  json j = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("msg") && j["msg"].is_string()) {
    std::string m = j["msg"].get<std::string>();
    if (j.contains("details") && j["details"].is_string() &&
        !j["details"].get<std::string>().empty()) {
      m += ": " + j["details"].get<std::string>();
    }
    if (j.contains("code") && j["code"].is_number_integer()) {
      m += " (code " + std::to_string(j["code"].get<int>()) + ")";
    }
    return Unavailable(what + m);
  }
  std::string text = !err.empty() ? err : out;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty()) text = "exit code " + std::to_string(exit_code);
  return Unavailable(what + text);
}

std::vector<std::string> SplitCniPath(std::string_view dirs) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string_view::npos) end = dirs.size();
    if (end > start) out.emplace_back(dirs.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

CniNamespace::~CniNamespace() {
  net_->Teardown(id_, path_, result_);
  RemoveNetns(path_);
}

Result<std::unique_ptr<CniNetwork>> CniNetwork::New(const CniOptions& opts) {
  KILN_ASSIGN_OR_RETURN(CniConfig config, LoadCniConfig(opts.config_path));
  if (opts.binary_dirs.empty()) return InvalidArgument("cni: no plugin binary directory");
  std::vector<std::string> paths;
  for (const auto& p : config.plugins) {
    KILN_ASSIGN_OR_RETURN(std::string path,
                          FindPlugin(p["type"].get<std::string>(), opts.binary_dirs));
    paths.push_back(std::move(path));
  }
  KILN_ASSIGN_OR_RETURN(std::string loopback, FindPlugin("loopback", opts.binary_dirs));
  if (opts.state_dir.empty()) return InvalidArgument("cni: no state dir");
  std::error_code ec;
  fs::create_directories(opts.state_dir, ec);
  if (ec) return Internal("create " + opts.state_dir + ": " + ec.message());
  std::string cni_path;
  for (const auto& d : opts.binary_dirs) cni_path += (cni_path.empty() ? "" : ":") + d;
  std::unique_ptr<CniNetwork> n(new CniNetwork(std::move(config), std::move(paths),
                                               std::move(loopback), std::move(cni_path),
                                               opts.state_dir));
  n->CleanStale();
  return n;
}

Result<json> CniNetwork::Exec(const std::string& plugin_path, const std::string& command,
                              const std::string& id, const std::string& netns,
                              const std::string& ifname, const std::string& network,
                              const std::string& stdin_data) const {
  CommandOptions o;
  o.stdin_data = stdin_data;
  // A plugin that hangs (a dead DHCP daemon, a stuck netlink call) must not hang the build or
  // kilnd's cleanup: it is killed and the step fails with the plugin's name.
  o.timeout = kPluginTimeout;
  o.env = {"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id, "CNI_NETNS=" + netns,
           "CNI_IFNAME=" + ifname,   "CNI_PATH=" + cni_path_, "CNI_ARGS="};
  std::string plugin(Base(plugin_path));
  auto r = RunCommand({plugin_path}, o);
  if (!r.ok()) {
    return r.status().Annotate("cni plugin \"" + plugin + "\" " + command);
  }
  if (r->exit_code != 0) {
    return CniPluginError(plugin, command, network, r->exit_code, r->out, r->err);
  }
  if (command != "ADD") return json();
  json res = json::parse(r->out, nullptr, /*allow_exceptions=*/false);
  if (!res.is_object()) {
    return Unavailable("cni plugin \"" + plugin + "\" ADD (network \"" + network +
                       "\") printed no JSON result");
  }
  return res;
}

Result<std::unique_ptr<CniNamespace>> CniNetwork::Setup(const std::string& id) const {
  std::string path = state_dir_ + "/" + id;
  KILN_RETURN_IF_ERROR(CreateNetns(path));
  // From here the handle owns the namespace: any failure below tears down what was set up.
  std::unique_ptr<CniNamespace> ns(new CniNamespace(this, id, path));
  if (auto lo = Exec(loopback_, "ADD", id, path, "lo", kLoopbackName, LoopbackStdin(json()));
      !lo.ok()) {
    return lo.status();
  }
  json prev;
  for (size_t i = 0; i < plugin_paths_.size(); i++) {
    auto r = Exec(plugin_paths_[i], "ADD", id, path, kIfName, config_.name,
                  CniPluginStdin(config_, i, prev));
    if (!r.ok()) return r.status();
    prev = std::move(*r);
  }
  ns->result_ = std::move(prev);
  return ns;
}

void CniNetwork::Teardown(const std::string& id, const std::string& netns,
                          const json& result) const {
  // libcni passes the cached ADD result as prevResult on DEL from CNI 0.4.0 on.
  json prev = VersionAtLeast(config_.cni_version, 0, 4) ? result : json();
  for (size_t i = plugin_paths_.size(); i-- > 0;) {
    auto r = Exec(plugin_paths_[i], "DEL", id, netns, kIfName, config_.name,
                  CniPluginStdin(config_, i, prev));
    if (!r.ok()) log::Warn("cni: run {}: {}", id, r.status().ToString());
  }
  auto r = Exec(loopback_, "DEL", id, netns, "lo", kLoopbackName, LoopbackStdin(json()));
  if (!r.ok()) log::Warn("cni: run {}: {}", id, r.status().ToString());
}

void CniNetwork::CleanStale() const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir_, ec)) {
    std::string id = e.path().filename().string();
    log::Info("cni: tearing down the network of stale run {}", id);
    Teardown(id, e.path().string(), json());
    RemoveNetns(e.path().string());
  }
}

}  // namespace kiln::executor
