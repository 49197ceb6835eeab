// Platforms the kernel runs through binfmt_misc emulators (BuildKit's archutil finds them by
// running a tiny binary of each architecture; kiln reads the registered handlers instead and
// lists only enabled qemu-<arch> entries whose architecture is not the host's).
#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>

#include "worker/worker.h"

namespace kiln::worker {

std::vector<Platform> BinfmtPlatforms(const std::string& dir) {
  // qemu's names for the architectures BuildKit's archutil checks, as OCI platforms.
  static const std::map<std::string, Platform> kQemu = {
      {"qemu-aarch64", {"linux", "arm64", ""}},   {"qemu-arm", {"linux", "arm", "v7"}},
      {"qemu-x86_64", {"linux", "amd64", ""}},    {"qemu-i386", {"linux", "386", ""}},
      {"qemu-riscv64", {"linux", "riscv64", ""}}, {"qemu-ppc64le", {"linux", "ppc64le", ""}},
      {"qemu-s390x", {"linux", "s390x", ""}},     {"qemu-mips64el", {"linux", "mips64le", ""}},
      {"qemu-mips64", {"linux", "mips64", ""}},   {"qemu-loongarch64", {"linux", "loong64", ""}},
  };
  std::vector<Platform> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  const Platform host = HostPlatform();
  for (const auto& name : names) {
    auto it = kQemu.find(name);
    if (it == kQemu.end() || it->second.architecture == host.architecture) continue;
    std::ifstream in(dir + "/" + name);
    std::string first;
    if (!std::getline(in, first) || first != "enabled") continue;
    out.push_back(it->second);
  }
  return out;
}

}  // namespace kiln::worker
