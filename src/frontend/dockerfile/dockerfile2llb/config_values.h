#pragma once
// Values of config instructions checked and normalised as BuildKit does: EXPOSE's port specs
// ("80", "53/udp", "8000-8002/tcp", "[ip:][hostPort:]port") and STOPSIGNAL's signal (a number or
// a Linux signal name, with or without "SIG"). Stateless, thread-safe.

#include <string>
#include <vector>

#include "util/status.h"

namespace kiln::dockerfile {

// Each port spec as "port/proto" entries (ranges expanded, proto lower-cased, tcp by default).
// Errors are BuildKit's: "invalid containerPort: abc", `invalid port: "80/xyz": invalid proto:
// xyz`, ...
Result<std::vector<std::string>> ParsePorts(const std::vector<std::string>& specs);

// A port spec's parts as BuildKit splits them: [ip:][hostPort:]containerPort[/proto].
struct PortSpec {
  std::string ip;
  std::string host_port;
  std::string container;  // without the proto
  std::string proto;      // as written, "" when none
};
PortSpec SplitPortSpec(const std::string& raw);

// Ok when `sig` names a signal; else "invalid signal: <sig>".
Status CheckSignal(const std::string& sig);

}  // namespace kiln::dockerfile
