#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>

namespace kiln::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
}

void SetLevel(Level l) { g_level = static_cast<int>(l); }
Level GetLevel() { return static_cast<Level>(g_level.load()); }

void Write(Level l, std::string_view msg) {
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line = fmt::format("{}.{:03}Z {} {}\n", ts, ms, kNames[static_cast<int>(l)], msg);
  // One write() per line keeps concurrent lines whole.
  ssize_t n = ::write(2, line.data(), line.size());
  (void)n;
}

}  // namespace kiln::log
