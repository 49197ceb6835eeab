#include "client/go_format.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>

namespace kiln::client {

namespace {

constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};

// The value scaled to the largest decimal unit it reaches, or false below 1000 bytes.
bool Scale(int64_t n, double* value, const char** unit) {
  int i = 0;
  int64_t base = 1;
  int64_t mag = n < 0 ? -n : n;
  while (mag / base >= 1000 && i < 6) {
    base *= 1000;
    ++i;
  }
  if (i == 0) return false;
  *value = static_cast<double>(n) / static_cast<double>(base);
  *unit = kUnits[i];
  return true;
}

std::string FormatFraction(int64_t frac, int digits) {
  // frac has `digits` decimal places; trims trailing zeros. Empty when zero.
  std::string s = fmt::format("{:0{}}", frac, digits);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

struct Civil {
  std::tm tm{};
  int64_t nanos = 0;
};

Civil ToCivil(int64_t unix_nanos) {
  int64_t secs = unix_nanos / 1000000000;
  int64_t nanos = unix_nanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    secs -= 1;
  }
  Civil c;
  time_t t = static_cast<time_t>(secs);
  gmtime_r(&t, &c.tm);
  c.nanos = nanos;
  return c;
}

}  // namespace

std::string FormatBytes(int64_t n) {
  double v = 0;
  const char* unit = "";
  if (!Scale(n, &v, &unit)) return fmt::format("{}B", n);
  return fmt::format("{:.2f}{}", v, unit);
}

std::string FormatBytesShort(int64_t n) {
  double v = 0;
  const char* unit = "";
  if (!Scale(n, &v, &unit)) return fmt::format("{}B", n);
  return fmt::format("{}{}", v, unit);
}

std::string HumanDuration(int64_t nanos) {
  double d = static_cast<double>(nanos);
  int64_t seconds = static_cast<int64_t>(d / 1e9);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  int64_t minutes = static_cast<int64_t>(d / 60e9);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = static_cast<int64_t>(std::round(d / 3600e9));
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", static_cast<int64_t>(d / 3600e9) / 24 / 365);
}

std::string GoTimeString(int64_t unix_nanos) {
  Civil c = ToCivil(unix_nanos);
  std::string frac = FormatFraction(c.nanos, 9);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}{} +0000 UTC", c.tm.tm_year + 1900,
                     c.tm.tm_mon + 1, c.tm.tm_mday, c.tm.tm_hour, c.tm.tm_min, c.tm.tm_sec,
                     frac.empty() ? "" : ".", frac);
}

std::optional<int64_t> ParseGoDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double value = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      value = value * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        value += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return std::nullopt;
    size_t u = i;
    while (u < s.size() && !(s[u] >= '0' && s[u] <= '9') && s[u] != '.') ++u;
    std::string_view unit = s.substr(i, u - i);
    long double mult = 0;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") {
      mult = 1e3L;
    } else if (unit == "ms") {
      mult = 1e6L;
    } else if (unit == "s") {
      mult = 1e9L;
    } else if (unit == "m") {
      mult = 60e9L;
    } else if (unit == "h") {
      mult = 3600e9L;
    } else {
      return std::nullopt;  // a unit is required
    }
    total += value * mult;
    if (total > 9.2e18L) return std::nullopt;
    s.remove_prefix(u);
  }
  int64_t n = static_cast<int64_t>(total);
  return neg ? -n : n;
}
}  // namespace kiln::client
