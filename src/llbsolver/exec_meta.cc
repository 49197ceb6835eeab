#include "llbsolver/exec_meta.h"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>

namespace kiln::llbsolver {
namespace {

bool ValidIP(const std::string& ip) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

Result<executor::ProcessSpec> ProcessFromMeta(const pb::Op& op) {
  const pb::ExecOp& e = op.exec();
  const pb::Meta& m = e.meta();
  executor::ProcessSpec p;
  p.args.assign(m.args().begin(), m.args().end());
  if (p.args.empty()) return InvalidArgument("exec op has no args");
  p.env.assign(m.env().begin(), m.env().end());
  if (m.has_proxy_env()) {
    const pb::ProxyEnv& x = m.proxy_env();
    auto add = [&](const char* upper, const char* lower, const std::string& v) {
      if (v.empty()) return;
      p.env.push_back(std::string(upper) + "=" + v);
      p.env.push_back(std::string(lower) + "=" + v);
    };
    add("HTTP_PROXY", "http_proxy", x.http_proxy());
    add("HTTPS_PROXY", "https_proxy", x.https_proxy());
    add("FTP_PROXY", "ftp_proxy", x.ftp_proxy());
    add("NO_PROXY", "no_proxy", x.no_proxy());
    add("ALL_PROXY", "all_proxy", x.all_proxy());
  }
  bool has_path = std::any_of(p.env.begin(), p.env.end(),
                              [](const std::string& kv) { return kv.rfind("PATH=", 0) == 0; });
  if (!has_path) p.env.push_back(kDefaultPathEnv);
  p.cwd = m.cwd().empty() ? "/" : m.cwd();
  p.user = m.user();
  p.hostname = m.hostname();
  for (const auto& h : m.extrahosts()) {
    if (!ValidIP(h.ip())) {
      return InvalidArgument(fmt::format("invalid extra host {}: failed to parse IP {}", h.host(), h.ip()));
    }
    p.extra_hosts.push_back({h.host(), h.ip()});
  }
  for (const auto& u : m.ulimit()) p.ulimits.push_back({u.name(), u.soft(), u.hard()});
  p.cgroup_parent = m.cgroupparent();
  switch (e.network()) {
    case pb::UNSET: p.network = executor::NetworkMode::kDefault; break;
    case pb::HOST: p.network = executor::NetworkMode::kHost; break;
    case pb::NONE: p.network = executor::NetworkMode::kNone; break;
    default: return InvalidArgument(fmt::format("unknown network mode {}", static_cast<int>(e.network())));
  }
  switch (e.security()) {
    case pb::SANDBOX: p.security = executor::SecurityMode::kSandbox; break;
    case pb::INSECURE: p.security = executor::SecurityMode::kInsecure; break;
    default: return InvalidArgument(fmt::format("unknown security mode {}", static_cast<int>(e.security())));
  }
  return p;
}

Status ValidateEntitlements(const pb::Op& op, const std::vector<std::string>& granted) {
  if (op.op_case() != pb::Op::kExec) return Status::Ok();
  if (op.exec().network() == pb::HOST && !Has(granted, "network.host")) {
    return InvalidArgument("network.host is not allowed");
  }
  if (op.exec().security() == pb::INSECURE && !Has(granted, "security.insecure")) {
    return InvalidArgument("security.insecure is not allowed");
  }
  return Status::Ok();
}

}  // namespace kiln::llbsolver
