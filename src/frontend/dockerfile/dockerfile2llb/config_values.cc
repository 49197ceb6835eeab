#include "frontend/dockerfile/dockerfile2llb/config_values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

namespace kiln::dockerfile {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<int> PortNumber(const std::string& s) {
  if (s.empty()) return InvalidArgument("value is empty");
  bool digits = s.find_first_not_of("0123456789") == std::string::npos ||
                (s.size() > 1 && (s[0] == '-' || s[0] == '+') &&
                 s.find_first_not_of("0123456789", 1) == std::string::npos);
  if (!digits) return InvalidArgument("invalid syntax");
  errno = 0;
  long long v = std::strtoll(s.c_str(), nullptr, 10);  // NOLINT(runtime/int)
  if (errno == ERANGE) return InvalidArgument("value out of range");
  if (v < 0 || v > 65535) return InvalidArgument("value out of range (0–65535)");
  return static_cast<int>(v);
}

// "8000-9000" or "80": the first and last port.
Result<std::pair<int, int>> PortRange(const std::string& ports) {
  if (ports.empty()) return InvalidArgument("empty string specified for ports");
  size_t dash = ports.find('-');
  std::string start = ports.substr(0, dash);
  auto first = PortNumber(start);
  if (!first.ok()) {
    return InvalidArgument("invalid start port '" + start + "': " + first.status().message());
  }
  std::string end = dash == std::string::npos ? start : ports.substr(dash + 1);
  if (dash == std::string::npos || start == end) return std::make_pair(*first, *first);
  auto last = PortNumber(end);
  if (!last.ok()) {
    return InvalidArgument("invalid end port '" + end + "': " + last.status().message());
  }
  if (*last < *first) return InvalidArgument("invalid port range: " + ports);
  return std::make_pair(*first, *last);
}

Result<std::vector<std::string>> ParsePort(const std::string& raw) {
  PortSpec spec = SplitPortSpec(raw);
  std::string ip = spec.ip, host_port = spec.host_port, container = spec.container;
  const std::string& proto = spec.proto;
  auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid port: \"" + raw + "\": " + why);
  };
  if (container.empty()) return bad("no port specified");
  std::string lproto = Lower(proto);
  if (lproto.empty()) {
    lproto = "tcp";
  } else if (lproto != "tcp" && lproto != "udp" && lproto != "sctp") {
    return bad("invalid proto: " + proto);
  }
  if (!ip.empty()) {
    if (ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
      return InvalidArgument("invalid IP address: " + ip);
    }
  }
  auto range = PortRange(container);
  if (!range.ok()) return InvalidArgument("invalid containerPort: " + container);
  if (!host_port.empty()) {
    auto host = PortRange(host_port);
    if (!host.ok()) return InvalidArgument("invalid hostPort: " + host_port);
    if (range->second - range->first != host->second - host->first &&
        range->second != range->first) {
      return InvalidArgument("invalid ranges specified for container and host Ports: " + container +
                             " and " + host_port);
    }
  }
  std::vector<std::string> out;
  for (int p = range->first; p <= range->second; p++) {
    out.push_back(std::to_string(p) + "/" + lproto);
  }
  return out;
}

}  // namespace

PortSpec SplitPortSpec(const std::string& raw) {
  std::vector<std::string> parts;
  for (size_t i = 0;;) {
    size_t c = raw.find(':', i);
    parts.push_back(raw.substr(i, c == std::string::npos ? std::string::npos : c - i));
    if (c == std::string::npos) break;
    i = c + 1;
  }
  PortSpec out;
  out.container = parts.back();
  if (parts.size() >= 2) out.host_port = parts[parts.size() - 2];
  for (size_t i = 0; i + 2 < parts.size(); i++) out.ip += (i ? ":" : "") + parts[i];
  size_t slash = out.container.find('/');
  out.proto = slash == std::string::npos ? "" : out.container.substr(slash + 1);
  out.container = out.container.substr(0, slash);
  return out;
}

Result<std::vector<std::string>> ParsePorts(const std::vector<std::string>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> ports, ParsePort(s));
    out.insert(out.end(), ports.begin(), ports.end());
  }
  return out;
}

Status CheckSignal(const std::string& sig) {
  const Status invalid = InvalidArgument("invalid signal: " + sig);
  if (!sig.empty() && sig.find_first_not_of("0123456789") == std::string::npos) {
    // strconv.ParseUint(sig, 10, 8): 1..255.
    if (sig.size() > 3) return invalid;
    int v = std::atoi(sig.c_str());
    return v == 0 || v > 255 ? invalid : Status::Ok();
  }
  std::string name = sig;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  static const std::set<std::string> names = [] {
    std::set<std::string> n = {
        "ABRT",   "ALRM",  "BUS",  "CHLD", "CLD",   "CONT",  "FPE",   "HUP",  "ILL",  "INT",
        "IO",     "IOT",   "KILL", "PIPE", "POLL",  "PROF",  "PWR",   "QUIT", "SEGV", "STKFLT",
        "STOP",   "SYS",   "TERM", "TRAP", "TSTP",  "TTIN",  "TTOU",  "URG",  "USR1", "USR2",
        "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX", "UNUSED"};
    for (int i = 1; i <= 15; i++) n.insert("RTMIN+" + std::to_string(i));
    for (int i = 1; i <= 14; i++) n.insert("RTMAX-" + std::to_string(i));
    return n;
  }();
  return names.count(name) != 0 ? Status::Ok() : invalid;
}

}  // namespace kiln::dockerfile
