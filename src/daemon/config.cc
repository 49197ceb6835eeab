// toml++ header-only without exceptions (Debian's compiled library is built with them).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "daemon/config.h"

#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace kiln::daemon {

namespace {

std::string Where(const toml::node& n, const std::string& name) {
  const auto& src = n.source();
  return name + ":" + std::to_string(src.begin.line);
}

// Typed readers: a wrong type is an error naming the key and its line.
template <typename T>
Status Read(const toml::table& t, const std::string& key, const std::string& name, T* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  auto v = n->value<T>();
  if (!v) return InvalidArgument(Where(*n, name) + ": \"" + key + "\" has the wrong type");
  *out = *v;
  return Status::Ok();
}

Status ReadStrings(const toml::table& t, const std::string& key, const std::string& name,
                   std::vector<std::string>* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  if (auto s = n->value<std::string>()) {
    out->push_back(*s);
    return Status::Ok();
  }
  const toml::array* a = n->as_array();
  if (!a) return InvalidArgument(Where(*n, name) + ": \"" + key + "\" must be a list of strings");
  for (const auto& e : *a) {
    auto s = e.value<std::string>();
    if (!s) return InvalidArgument(Where(e, name) + ": \"" + key + "\" must be a list of strings");
    out->push_back(*s);
  }
  return Status::Ok();
}

void Unknown(const toml::table& t, const std::set<std::string>& known, const std::string& prefix,
             const std::string& name, std::vector<std::string>* warnings) {
  for (const auto& [k, v] : t) {
    if (!known.count(std::string(k.str()))) {
      warnings->push_back(Where(v, name) + ": unknown key \"" + prefix + std::string(k.str()) + "\"");
    }
  }
}

}  // namespace

Result<Config> ParseConfig(const std::string& text, const std::string& name,
                           std::vector<std::string>* warnings) {
  toml::parse_result pr = toml::parse(text, name);
  if (!pr) {
    const auto& e = pr.error();
    return InvalidArgument(name + ":" + std::to_string(e.source().begin.line) + ":" +
                           std::to_string(e.source().begin.column) + ": " +
                           std::string(e.description()));
  }
  const toml::table& root = pr.table();
  Config c;
  KILN_RETURN_IF_ERROR(Read(root, "root", name, &c.root));
  KILN_RETURN_IF_ERROR(Read(root, "debug", name, &c.debug));
  KILN_RETURN_IF_ERROR(ReadStrings(root, "insecure-entitlements", name, &c.entitlements));
  Unknown(root, {"root", "debug", "trace", "grpc", "worker", "registry", "insecure-entitlements",
                 "log", "dns", "history", "cdi", "otel", "frontend", "system"},
          "", name, warnings);
  if (const toml::table* g = root["grpc"].as_table()) {
    KILN_RETURN_IF_ERROR(ReadStrings(*g, "address", name, &c.addresses));
  }
  if (const toml::table* w = root["worker"]["oci"].as_table()) {
    KILN_RETURN_IF_ERROR(Read(*w, "snapshotter", name, &c.snapshotter));
    int64_t mp = 0;
    KILN_RETURN_IF_ERROR(Read(*w, "max-parallelism", name, &mp));
    c.max_parallelism = static_cast<int>(mp);
    KILN_RETURN_IF_ERROR(Read(*w, "gc", name, &c.gc));
    KILN_RETURN_IF_ERROR(Read(*w, "gckeepstorage", name, &c.gc_keep_storage));
    KILN_RETURN_IF_ERROR(Read(*w, "binary", name, &c.runtime));
    KILN_RETURN_IF_ERROR(Read(*w, "networkMode", name, &c.network_mode));
    KILN_RETURN_IF_ERROR(Read(*w, "cniConfigPath", name, &c.cni_config_path));
    KILN_RETURN_IF_ERROR(Read(*w, "cniBinaryPath", name, &c.cni_binary_path));
    if (const toml::array* pols = (*w)["gcpolicy"].as_array()) {
      for (const auto& p : *pols) {
        const toml::table* pt = p.as_table();
        if (!pt) return InvalidArgument(Where(p, name) + ": gcpolicy entries must be tables");
        GCPolicy gp;
        KILN_RETURN_IF_ERROR(Read(*pt, "all", name, &gp.all));
        KILN_RETURN_IF_ERROR(Read(*pt, "keepDuration", name, &gp.keep_duration_s));
        KILN_RETURN_IF_ERROR(Read(*pt, "keepBytes", name, &gp.keep_bytes));
        KILN_RETURN_IF_ERROR(Read(*pt, "reservedSpace", name, &gp.keep_bytes));
        KILN_RETURN_IF_ERROR(ReadStrings(*pt, "filters", name, &gp.filters));
        c.gc_policies.push_back(std::move(gp));
      }
    }
    Unknown(*w, {"enabled", "snapshotter", "max-parallelism", "gc", "gckeepstorage", "gcpolicy",
                 "binary", "platforms", "rootless", "noProcessSandbox", "labels", "cniPoolSize",
                 "networkMode", "cniConfigPath", "cniBinaryPath",
                 "apparmor-profile", "selinux", "hostname", "reservedSpace", "maxUsedSpace",
                 "minFreeSpace"},
            "worker.oci.", name, warnings);
  }
  if (const toml::table* regs = root["registry"].as_table()) {
    for (const auto& [host, node] : *regs) {
      const toml::table* rt = node.as_table();
      if (!rt) return InvalidArgument(Where(node, name) + ": registry entries must be tables");
      RegistryConfig rc;
      KILN_RETURN_IF_ERROR(ReadStrings(*rt, "mirrors", name, &rc.mirrors));
      KILN_RETURN_IF_ERROR(Read(*rt, "http", name, &rc.http));
      KILN_RETURN_IF_ERROR(Read(*rt, "insecure", name, &rc.insecure));
      KILN_RETURN_IF_ERROR(ReadStrings(*rt, "ca", name, &rc.ca));
      KILN_RETURN_IF_ERROR(Read(*rt, "username", name, &rc.username));
      KILN_RETURN_IF_ERROR(Read(*rt, "password", name, &rc.password));
      if (rc.username.empty() != rc.password.empty()) {
        return InvalidArgument(Where(node, name) + ": registry \"" + std::string(host.str()) +
                               "\" needs both username and password");
      }
      c.registries[std::string(host.str())] = std::move(rc);
    }
  }
  return c;
}

Result<Config> LoadConfigFile(const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path);
  if (!in) return NotFound("config file " + path + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path, warnings);
}

std::string DefaultAddress() {
  if (geteuid() == 0) return "unix:///run/kiln/kilnd.sock";
  const char* x = getenv("XDG_RUNTIME_DIR");
  if (x && *x) return std::string("unix://") + x + "/kiln/kilnd.sock";
  return "unix:///tmp/kiln-" + std::to_string(geteuid()) + "/kilnd.sock";
}

std::string DefaultRoot() {
  if (geteuid() == 0) return "/var/lib/kiln";
  const char* x = getenv("XDG_DATA_HOME");
  if (x && *x) return std::string(x) + "/kiln";
  const char* h = getenv("HOME");
  return std::string(h ? h : "/tmp") + "/.local/share/kiln";
}

}  // namespace kiln::daemon
