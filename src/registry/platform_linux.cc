// The host platform on Linux: uname's machine, and for 32-bit arm the CPU architecture from
// /proc/cpuinfo (as containerd's cpuVariant).
#include <sys/utsname.h>

#include <fstream>
#include <string>

#include "registry/platform.h"

namespace kiln::registry {

namespace {

std::string ArmVariant() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("CPU architecture")) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    if (v == "AArch64" || v == "8") return "v8";
    if (v == "7" || v == "7M") return "v7";
    if (v == "6" || v == "6TEJ") return "v6";
    if (v == "5" || v == "5TE" || v == "5TEJ") return "v5";
    break;
  }
  return "v7";
}

}  // namespace

Platform HostPlatform() {
  static const Platform host = [] {
    struct utsname u;
    Platform p;
    p.os = "linux";
    p.architecture = ::uname(&u) == 0 ? u.machine : "amd64";
    if (p.architecture.starts_with("armv") || p.architecture == "arm") {
      p.architecture = "arm";
      p.variant = ArmVariant();
    } else if (p.architecture.size() == 4 && p.architecture[0] == 'i' &&
               p.architecture.ends_with("86")) {
      p.architecture = "386";  // i386 .. i686
    }
    return Normalize(p);
  }();
  return host;
}

}  // namespace kiln::registry
