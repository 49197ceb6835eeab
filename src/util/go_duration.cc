#include "util/go_duration.h"

#include <fmt/format.h>

namespace kiln {

namespace {

// frac has `digits` decimal places; trailing zeros trimmed, empty when zero.
std::string FormatFraction(int64_t frac, int digits) {
  std::string s = fmt::format("{:0{}}", frac, digits);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace

std::string GoDurationString(int64_t nanos) {
  if (nanos == 0) return "0s";
  std::string sign = nanos < 0 ? "-" : "";
  uint64_t u = nanos < 0 ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  if (u < 1000000000) {
    // Sub-second: the largest unit that keeps a leading digit, with a trimmed fraction.
    auto part = [&](uint64_t unit, int digits, const char* name) {
      std::string frac = FormatFraction(static_cast<int64_t>(u % unit), digits);
      return fmt::format("{}{}{}{}{}", sign, u / unit, frac.empty() ? "" : ".", frac, name);
    };
    if (u < 1000) return fmt::format("{}{}ns", sign, u);
    if (u < 1000000) return part(1000, 3, "µs");
    return part(1000000, 6, "ms");
  }
  uint64_t secs = u / 1000000000;
  std::string frac = FormatFraction(static_cast<int64_t>(u % 1000000000), 9);
  std::string sec_part = fmt::format("{}{}{}s", secs % 60, frac.empty() ? "" : ".", frac);
  uint64_t mins = secs / 60;
  if (mins == 0) return sign + sec_part;
  std::string min_part = fmt::format("{}m", mins % 60);
  uint64_t hours = mins / 60;
  if (hours == 0) return sign + min_part + sec_part;
  return fmt::format("{}{}h{}{}", sign, hours, min_part, sec_part);
}

}  // namespace kiln
