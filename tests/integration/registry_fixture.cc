#include "registry_fixture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "harness.h"

namespace kiln::itest {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(15);

// Counts combined-format access-log lines: `... "METHOD PATH PROTO" STATUS ...`.
int CountLogLines(const std::string& path, const std::string& method, const std::string& prefix,
                  int status) {
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    size_t q1 = line.find('"');
    size_t q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
    if (q2 == std::string::npos) continue;
    std::istringstream req(line.substr(q1 + 1, q2 - q1 - 1));
    std::string m, p;
    if (!(req >> m >> p)) continue;
    if (!method.empty() && m != method) continue;
    if (p.compare(0, prefix.size(), prefix) != 0) continue;
    if (status != 0) {
      std::istringstream rest(line.substr(q2 + 1));
      int code = 0;
      if (!(rest >> code) || code != status) continue;
    }
    n++;
  }
  return n;
}

std::string Tail(const std::string& path, size_t max_lines) {
  std::ifstream in(path);
  if (!in) return "";
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(std::move(line));
  std::string out;
  size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
  if (from > 0) out += "... (" + std::to_string(from) + " earlier lines)\n";
  for (size_t i = from; i < lines.size(); i++) out += lines[i] + "\n";
  return out;
}

std::string Str(const nlohmann::json& j, const char* key) { return JsonStr(JsonAt(j, {key})); }

}  // namespace

const nlohmann::json& JsonAt(const nlohmann::json& j, std::initializer_list<JsonKey> path) {
  static const nlohmann::json kNull;
  const nlohmann::json* cur = &j;
  for (const auto& k : path) {
    if (k.is_index) {
      if (!cur->is_array() || k.index >= cur->size()) return kNull;
      cur = &(*cur)[k.index];
    } else {
      if (!cur->is_object()) return kNull;
      auto it = cur->find(k.key);
      if (it == cur->end()) return kNull;
      cur = &*it;
    }
  }
  return *cur;
}

std::string JsonStr(const nlohmann::json& j) {
  return j.is_string() ? j.get_ref<const std::string&>() : "";
}

const char* RegistryModeName(RegistryMode mode) {
  switch (mode) {
    case RegistryMode::kPlain:
      return "plain";
    case RegistryMode::kBasic:
      return "basic";
    case RegistryMode::kToken:
      return "token";
  }
  return "?";
}

std::string FixturesDir() {
  const char* d = getenv("KILN_FIXTURES_DIR");
  return d ? d : KILN_FIXTURES_DIR_DEFAULT;
}

RegistryFixture::RegistryFixture() { dir_ = MakeTempDir("kiln-registry"); }

RegistryFixture::~RegistryFixture() {
  if (::testing::Test::HasFailure() && !dir_.empty()) std::cerr << Log();
  Stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool RegistryFixture::Start(RegistryMode mode, const std::vector<std::string>& extra_args) {
  if (dir_.empty()) {
    error_ = "cannot create a temporary directory";
    return false;
  }
  if (pid_ > 0) {
    error_ = "already started";
    return false;
  }
  mode_ = mode;
  std::string inst = dir_ + "/registry";
  state_path_ = inst + "/state.json";
  std::string log = dir_ + "/supervisor.log";
  unlink(state_path_.c_str());  // a restart must not read the previous run's state
  std::vector<std::string> argv = {FixturesDir() + "/registry.py", "run",   "--mode",
                                   RegistryModeName(mode),         "--dir", inst};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t parent = getpid();

  // Only async-signal-safe calls between fork and exec.
  pid_ = fork();
  if (pid_ < 0) {
    error_ = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid_ == 0) {
    // The supervisor stops its registry on SIGTERM; it gets one if this process dies.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(126);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0) _exit(126);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }

  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  struct stat st;
  while (stat(state_path_.c_str(), &st) != 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "registry.py exited (status " + std::to_string(status) + "):\n" + Tail(log, 50);
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Stop();
      error_ = "registry.py did not become ready:\n" + Tail(log, 50);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  state_ = nlohmann::json::parse(ReadFile(state_path_), nullptr, false);
  if (!state_.is_object()) {
    Stop();
    error_ = "unreadable " + state_path_;
    return false;
  }
  host_ = Str(state_, "host");
  url_ = Str(state_, "url");
  ca_cert_ = Str(state_, "ca_cert");
  cert_dir_ = Str(state_, "cert_dir");
  username_ = Str(state_, "username");
  password_ = Str(state_, "password");
  token_url_ = Str(state_, "token_url");
  access_log_ = Str(state_, "access_log");
  token_log_ = Str(state_, "token_log");
  tls_ = JsonAt(state_, {"tls"}) == true;
  return true;
}

void RegistryFixture::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The registry has PR_SET_PDEATHSIG=SIGKILL towards the supervisor, so it follows.
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

nlohmann::json RegistryFixture::StartPlainWithImages(const std::vector<std::string>& images) {
  if (!Start(RegistryMode::kPlain)) {
    error_ = "registry: " + error_;
    return nlohmann::json::value_t::discarded;
  }
  nlohmann::json out = PushFixtureImages(images);
  if (out.is_discarded()) error_ = "fixture images: " + error_;
  return out;
}

nlohmann::json RegistryFixture::PushFixtureImages(const std::vector<std::string>& images,
                                                  const std::string& cache_dir) {
  if (pid_ <= 0) {
    error_ = "registry not started";
    return nlohmann::json::value_t::discarded;
  }
  std::string cache = cache_dir;
  if (cache.empty()) {
    const char* env = getenv("KILN_FIXTURE_CACHE");
    cache = env && *env ? env : dir_ + "/image-cache";
  }
  std::string out = dir_ + "/images.json";
  std::vector<std::string> argv = {
      FixturesDir() + "/make-images.py", "--cache", cache, "--state", state_path_, "--out", out};
  if (!images.empty()) {
    std::string list;
    for (const auto& i : images) list += (list.empty() ? "" : ",") + i;
    argv.insert(argv.end(), {"--images", list});
  }
  RunResult r = Run(argv);
  if (r.exit_code != 0) {
    error_ = "make-images.py failed (" + std::to_string(r.exit_code) + "):\n" + r.err;
    return nlohmann::json::value_t::discarded;
  }
  auto j = nlohmann::json::parse(ReadFile(out), nullptr, false);
  if (!j.is_object() || !j.contains("images")) {
    error_ = "make-images.py wrote no usable " + out + "\n" + r.err;
    return nlohmann::json::value_t::discarded;
  }
  return j;
}

int RegistryFixture::CountRequests(const std::string& method, const std::string& path_prefix,
                                   int status) const {
  return CountLogLines(access_log_, method, path_prefix, status);
}

int RegistryFixture::CountTokenRequests(const std::string& method, int status) const {
  if (token_log_.empty()) return 0;
  return CountLogLines(token_log_, method, "/token", status);
}

std::vector<std::string> RegistryFixture::SkopeoArgs(const std::string& side) const {
  std::string p = side.empty() ? "--" : "--" + side + "-";
  std::vector<std::string> args;
  if (tls_) {
    args.push_back(p + "cert-dir=" + cert_dir_);
  } else {
    args.push_back(p + "tls-verify=false");
  }
  if (!username_.empty()) args.push_back(p + "creds=" + username_ + ":" + password_);
  return args;
}

nlohmann::json RegistryFixture::Probe(const std::string& path, bool anonymous,
                                      const std::string& method) const {
  std::vector<std::string> argv = {FixturesDir() + "/registry.py",
                                   "probe",
                                   "--state",
                                   state_path_,
                                   "--path",
                                   path,
                                   "--method",
                                   method};
  if (anonymous) argv.push_back("--anonymous");
  RunResult r = Run(argv);
  if (r.exit_code != 0) return nlohmann::json::value_t::discarded;
  return nlohmann::json::parse(r.out, nullptr, false);
}

std::string RegistryFixture::Log() const {
  std::string out =
      "---- registry fixture (" + std::string(RegistryModeName(mode_)) + ", " + dir_ + ") ----\n";
  out += "-- supervisor.log\n" + Tail(dir_ + "/supervisor.log", 40);
  std::string inst = dir_ + "/registry";
  out += "-- registry.log\n" + Tail(inst + "/registry.log", 60);
  out += "-- access.log\n" + Tail(inst + "/access.log", 80);
  if (!token_log_.empty()) out += "-- token.log\n" + Tail(token_log_, 40);
  return out;
}

}  // namespace kiln::itest
