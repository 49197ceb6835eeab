#include "executor/testing/busybox_rootfs.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "executor/runtime_check.h"

namespace kiln::executor::testing {

namespace fs = std::filesystem;

std::string MakeBusyboxRootfs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir + "/bin", ec);
  fs::create_directories(dir + "/etc", ec);
  fs::create_directories(dir + "/tmp", ec);
  if (ec) return "mkdir: " + ec.message();
  fs::copy_file("/bin/busybox", dir + "/bin/busybox", ec);
  if (ec) return "copy /bin/busybox: " + ec.message();
  for (const char* applet :
       {"sh",       "echo",  "cat",  "id",   "sleep", "ls",      "touch", "df",
        "hostname", "pwd",   "stat", "env",  "wc",    "mkdir",   "dd",    "grep",
        "true",     "false", "head", "kill", "ip",    "ifconfig"}) {
    fs::create_symlink("busybox", dir + "/bin/" + applet, ec);
    if (ec) return std::string("symlink ") + applet + ": " + ec.message();
  }
  std::ofstream(dir + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                        "user:x:1000:1000:User:/home/user:/bin/sh\n";
  std::ofstream(dir + "/etc/group") << "root:x:0:\nstaff:x:50:user\nuser:x:1000:\n";
  return "";
}

std::string RuntimeTestSkipReason(const std::string& runtime) {
  if (geteuid() != 0) return "needs root to run containers";
  if (access("/bin/busybox", X_OK) != 0) return "needs /bin/busybox (busybox-static)";
  if (!LookPath(runtime).ok()) return runtime + " is not installed";
  return "";
}

}  // namespace kiln::executor::testing
