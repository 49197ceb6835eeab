#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

extern char** environ;

namespace kiln::itest {

std::string BinDir() {
  const char* d = getenv("KILN_BIN_DIR");
  return d ? d : KILN_BIN_DIR_DEFAULT;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string t = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(t.begin(), t.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return "";
  return buf.data();
}

void WriteFile(const std::string& path, const std::string& data, int mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
  }
  chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

// A NULL-terminated char* array over strings it owns. Built before fork: the tests fork from
// many threads at once, and a child that allocates (ASan's allocator, setenv) can wait forever
// on a lock another thread held at fork time, so children only dup2 and exec.
class CStrings {
 public:
  explicit CStrings(std::vector<std::string> v) : s_(std::move(v)) {
    for (auto& a : s_) p_.push_back(a.data());
    p_.push_back(nullptr);
  }
  char* const* get() { return p_.data(); }

 private:
  std::vector<std::string> s_;
  std::vector<char*> p_;
};

// This process's environment with `overrides` applied, as KEY=VALUE strings.
std::vector<std::string> EnvWith(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; e++) {
    std::string kv = *e;
    if (overrides.count(kv.substr(0, kv.find('='))) == 0) out.push_back(kv);
  }
  for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

RunResult Run(const std::vector<std::string>& argv, const std::string& input,
              const std::map<std::string, std::string>& env) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    return {};
  CStrings args(argv);
  CStrings envp(EnvWith(env));
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvpe(args.get()[0], args.get(), envp.get());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  std::thread writer([&] {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = write(in[1], input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(in[1]);
  });
  RunResult r;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
        ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          open_fds--;
        } else {
          (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
  }
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Daemon::Daemon(std::string root) {
  dir_ = MakeTempDir("kiln-itest");
  root_ = root.empty() ? dir_ + "/root" : root;
  addr_ = "unix://" + dir_ + "/kilnd.sock";
  log_ = dir_ + "/kilnd.log";
}

Daemon::~Daemon() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool Daemon::Start(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {BinDir() + "/kilnd", "--root", root_, "--addr", addr_};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CStrings args(std::move(argv));
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(args.get()[0], args.get());
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    auto r = Kilnctl({"debug", "workers"});
    if (r.exit_code == 0) return true;
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void Daemon::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 200; i++) {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // A daemon must stop promptly on SIGTERM; one that hangs is a defect, not a test detail.
  ADD_FAILURE() << "kilnd did not exit within 10 s of SIGTERM; killed it";
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string Daemon::Log() const { return ReadFile(log_); }

pid_t Daemon::StartKilnctl(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv = {BinDir() + "/kilnctl", "--addr", addr_};
  argv.insert(argv.end(), args.begin(), args.end());
  CStrings cargs(std::move(argv));
  pid_t pid = fork();
  if (pid == 0) {
    int p[2];
    if (pipe(p) != 0) _exit(3);
    if (write(p[1], input.data(), input.size()) < 0) _exit(3);
    close(p[1]);
    dup2(p[0], 0);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execv(cargs.get()[0], cargs.get());
    _exit(127);
  }
  return pid;
}

std::pair<int, int> Daemon::WaitForThreadsAndFds(int threads0, int fds0) const {
  int threads = 0, fds = 0;
  for (int i = 0; i < 300; i++) {
    threads = Threads();
    fds = Fds();
    if (threads <= threads0 && fds <= fds0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {threads, fds};
}

RunResult Daemon::Kilnctl(std::vector<std::string> args, const std::string& input) const {
  std::vector<std::string> argv = {BinDir() + "/kilnctl", "--addr", addr_};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, input);
}

static int CountDir(const std::string& path) {
  int n = 0;
  DIR* d = opendir(path.c_str());
  if (!d) return -1;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(d);
  return n;
}

// gRPC's own pools (its default executor, resolver executor, timers, event engine) start
// threads on demand up to a fixed bound and keep them: they are not threads kiln could leak, so
// counts compared against a baseline leave them out.
int Daemon::Threads() const {
  // gRPC's pools, and kilnd's one call_watcher (daemon/grpc_util.cc), started with the first call.
  static const char* const kGrpcPools[] = {"default-executo", "resolver-execut", "grpc_global_tim",
                                           "event_engine",    "timer_manager",   "call_watcher"};
  int n = 0;
  std::error_code ec;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ec)) {
    std::string comm = ReadFile(t.path().string() + "/comm");
    comm = comm.substr(0, comm.find('\n'));
    bool pool = false;
    for (const char* p : kGrpcPools) pool = pool || comm == p;
    if (!pool) n++;
  }
  return n;
}
int Daemon::Fds() const { return CountDir("/proc/" + std::to_string(pid_) + "/fd"); }

std::map<std::string, VertexSummary> ParseRawJson(const std::string& out) {
  std::map<std::string, VertexSummary> by_digest;
  std::map<std::string, std::string> names;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("vertexes")) continue;
    for (const auto& v : j["vertexes"]) {
      std::string d = v.value("digest", "");
      auto& s = by_digest[d];
      s.digest = d;
      names[d] = v.value("name", "");
      if (v.value("cached", false)) s.cached = true;
      if (v.contains("completed") && !v["completed"].is_null()) s.completed = true;
      if (v.contains("error") && v["error"].is_string() && !v["error"].get<std::string>().empty()) {
        s.error = v["error"].get<std::string>();
      }
    }
  }
  std::map<std::string, VertexSummary> by_name;
  for (auto& [d, s] : by_digest) by_name[names[d]] = s;
  return by_name;
}

int64_t StatusCurrent(const std::string& rawjson, const std::string& id) {
  int64_t cur = -1;
  std::istringstream in(rawjson);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("statuses")) continue;
    for (const auto& s : j["statuses"]) {
      if (s.value("id", "") == id) cur = s.value("current", int64_t{0});
    }
  }
  return cur;
}

}  // namespace kiln::itest
