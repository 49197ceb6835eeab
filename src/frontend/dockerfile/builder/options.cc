#include "frontend/dockerfile/builder/options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

#include "util/csv.h"

namespace kiln::dockerfile {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<int64_t> ParseInt64(const std::string& s) {
  if (s.empty()) return InvalidArgument("strconv.ParseInt: parsing \"\": invalid syntax");
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);  // NOLINT(runtime/int)
  if (*end != '\0' || end == s.c_str() || s[0] == ' ') {
    return InvalidArgument("strconv.ParseInt: parsing \"" + s + "\": invalid syntax");
  }
  if (errno == ERANGE) {
    return InvalidArgument("strconv.ParseInt: parsing \"" + s + "\": value out of range");
  }
  return static_cast<int64_t>(v);
}

bool ValidIP(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// docker/go-units ParseUlimit: name=soft[:hard].
Result<pb::Ulimit> ParseUlimit(const std::string& v) {
  static const std::set<std::string> names = {
      "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
      "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  size_t eq = v.find('=');
  if (eq == std::string::npos) return InvalidArgument("invalid ulimit argument: " + v);
  std::string name = v.substr(0, eq);
  if (names.count(name) == 0) return InvalidArgument("invalid ulimit type: " + name);
  std::string limits = v.substr(eq + 1);
  size_t colon = limits.find(':');
  if (colon != std::string::npos && limits.find(':', colon + 1) != std::string::npos) {
    return InvalidArgument("too many limit value arguments - " + limits +
                           ", can only have up to two, `soft[:hard]`");
  }
  KILN_ASSIGN_OR_RETURN(int64_t soft, ParseInt64(limits.substr(0, colon)));
  int64_t hard = soft;
  if (colon != std::string::npos) {
    KILN_ASSIGN_OR_RETURN(hard, ParseInt64(limits.substr(colon + 1)));
  }
  if (soft > hard) {
    return InvalidArgument("ulimit soft limit must be less than or equal to hard limit: " +
                           std::to_string(soft) + " > " + std::to_string(hard));
  }
  pb::Ulimit u;
  u.set_name(name);
  u.set_soft(soft);
  u.set_hard(hard);
  return u;
}

Status ApplyOne(const std::string& k, const std::string& v, ConvertOptions& co) {
  if (k == "add-hosts") {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> fields, SplitCsvRecord(v));
    for (const auto& field : fields) {
      std::string f = Lower(field);
      size_t eq = f.find('=');
      if (eq == std::string::npos) return InvalidArgument("invalid key-value pair " + field);
      std::string ip = f.substr(eq + 1);
      if (!ValidIP(ip)) return InvalidArgument("failed to parse IP " + ip);
      co.extra_hosts.emplace_back(f.substr(0, eq), ip);
    }
  } else if (k == "shm-size") {
    KILN_ASSIGN_OR_RETURN(co.shm_size, ParseInt64(v));
  } else if (k == "ulimit") {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> fields, SplitCsvRecord(v));
    for (const auto& field : fields) {
      KILN_ASSIGN_OR_RETURN(pb::Ulimit u, ParseUlimit(field));
      co.ulimits.push_back(std::move(u));
    }
  } else if (k == "force-network-mode") {
    if (v == "none") {
      co.network_mode = pb::NONE;
    } else if (v == "host") {
      co.network_mode = pb::HOST;
    } else if (v == "sandbox") {
      co.network_mode = pb::UNSET;
    } else {
      return InvalidArgument("invalid netmode " + v);
    }
  }
  return Status::Ok();
}

}  // namespace

Status ApplyRunOptions(const std::map<std::string, std::string>& opts, ConvertOptions& co) {
  for (const char* k : {"add-hosts", "shm-size", "ulimit", "force-network-mode"}) {
    auto it = opts.find(k);
    if (it == opts.end() || it->second.empty()) continue;
    Status st = ApplyOne(k, it->second, co);
    if (!st.ok()) return st.Annotate("frontend option " + std::string(k));
  }
  if (auto it = opts.find("no-cache"); it != opts.end()) {
    std::vector<std::string> stages;
    size_t start = 0;
    while (!it->second.empty() && start <= it->second.size()) {
      size_t end = std::min(it->second.find(',', start), it->second.size());
      stages.push_back(it->second.substr(start, end - start));
      start = end + 1;
    }
    co.no_cache = std::move(stages);
  }
  return Status::Ok();
}

}  // namespace kiln::dockerfile
