#pragma once
// Integration test harness: a real kilnd in a temporary root on a temporary unix socket, driven
// by the real kilnctl. Binaries come from KILN_BIN_DIR (set by CMake). The daemon's log is
// printed when a test fails.

#include <sys/types.h>

#include <map>
#include <utility>
#include <string>
#include <vector>

namespace kiln::itest {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv with `input` on stdin; captures stdout and stderr.
RunResult Run(const std::vector<std::string>& argv, const std::string& input = "",
              const std::map<std::string, std::string>& env = {});

std::string BinDir();
std::string MakeTempDir(const std::string& prefix);
void WriteFile(const std::string& path, const std::string& data, int mode = 0644);
std::string ReadFile(const std::string& path);

class Daemon {
 public:
  explicit Daemon(std::string root = "");
  ~Daemon();
  bool Start(const std::vector<std::string>& extra = {"--debug"});
  void Stop();
  pid_t pid() const { return pid_; }
  const std::string& addr() const { return addr_; }
  const std::string& root() const { return root_; }
  std::string Log() const;
  // kilnctl with --addr set.
  RunResult Kilnctl(std::vector<std::string> args, const std::string& input = "") const;
  // kilnctl with --addr set, in the background (output discarded), for tests that interrupt it.
  pid_t StartKilnctl(const std::vector<std::string>& args, const std::string& input) const;
  // Polls (up to 30 s) until the daemon's threads and fds are back to at most the given counts;
  // returns the last counts seen, for the test to compare.
  std::pair<int, int> WaitForThreadsAndFds(int threads0, int fds0) const;
  // Number of threads (gRPC's internal pools, bounded and kept once started, left out) and open
  // fds of the daemon process.
  int Threads() const;
  int Fds() const;

 private:
  std::string dir_;
  std::string root_;
  std::string addr_;
  std::string log_;
  pid_t pid_ = -1;
};

// Parses kilnctl --progress=rawjson output: per vertex name, whether it was cached / completed.
struct VertexSummary {
  std::string digest;
  bool cached = false;
  bool completed = false;
  std::string error;
};
std::map<std::string, VertexSummary> ParseRawJson(const std::string& out);
// The last reported `current` of status lines with this id (e.g. "transferring context:").
int64_t StatusCurrent(const std::string& rawjson, const std::string& id);

}  // namespace kiln::itest
