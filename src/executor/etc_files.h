#pragma once
// The /etc/hosts and /etc/resolv.conf a step sees, as BuildKit's OCI worker writes them.
// Stateless, thread-safe.

#include <string>
#include <vector>

#include "executor/executor.h"

namespace kiln::executor {

// The default hostname of a step (BuildKit's).
inline constexpr const char* kDefaultHostname = "buildkitsandbox";

// "127.0.0.1\tlocalhost HOSTNAME\n::1\tlocalhost ip6-localhost ip6-loopback\n" then one
// "IP\tHOST\n" line per extra host. An empty hostname means kDefaultHostname.
std::string HostsFile(const std::string& hostname, const std::vector<HostIP>& extra_hosts);

// The resolv.conf for a step from the host's `host_conf` (empty if the host has none).
// Comments and blank lines are dropped; nameservers, the last search line, the options and any
// other lines are kept. Unless `host_network` (NetworkMode::kHost), loopback nameservers are
// removed (they only answer in the host's namespace) and, as when the host lists none at all,
// Google's public resolvers (IPv4 and IPv6) are used instead.
std::string ResolvConf(const std::string& host_conf, bool host_network);

// Which host file to read: /etc/resolv.conf, or systemd-resolved's upstream list
// (/run/systemd/resolve/resolv.conf) when /etc/resolv.conf names only its stub 127.0.0.53 and
// the step does not share the host's network.
std::string ResolvConfSourcePath(const std::string& etc_resolv_conf, bool host_network);

}  // namespace kiln::executor
