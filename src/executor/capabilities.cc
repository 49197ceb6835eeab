#include "executor/capabilities.h"

#include <array>
#include <fstream>
#include <sstream>
#include <string_view>

namespace kiln::executor {
namespace {

// Indexed by capability number (linux/capability.h).
constexpr std::array<std::string_view, 41> kCapNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

}  // namespace

std::vector<std::string> DefaultCapabilities() {
  return {"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
          "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
          "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
          "CAP_KILL",    "CAP_AUDIT_WRITE"};
}

std::vector<std::string> CapabilityNames(uint64_t mask) {
  std::vector<std::string> out;
  for (size_t i = 0; i < kCapNames.size(); i++) {
    if (mask & (uint64_t{1} << i)) out.emplace_back(kCapNames[i]);
  }
  return out;
}

Result<uint64_t> ParseCapabilityMask(const std::string& status_text, const std::string& field) {
  std::istringstream in(status_text);
  std::string line;
  std::string prefix = field + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string hex = line.substr(prefix.size());
    size_t b = hex.find_first_not_of(" \t");
    if (b == std::string::npos) break;
    hex = hex.substr(b);
    uint64_t v = 0;
    for (char c : hex) {
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        break;
      }
      v = (v << 4) | static_cast<uint64_t>(d);
    }
    return v;
  }
  return NotFound("no " + field + " line in process status");
}

Result<std::vector<std::string>> CurrentCapabilities() {
  std::ifstream f("/proc/self/status");
  if (!f) return ErrnoStatus(errno, "open /proc/self/status");
  std::stringstream ss;
  ss << f.rdbuf();
  KILN_ASSIGN_OR_RETURN(uint64_t mask, ParseCapabilityMask(ss.str(), "CapEff"));
  return CapabilityNames(mask);
}

}  // namespace kiln::executor
