#include "util/rfc3339.h"

#include <fmt/format.h>

#include <ctime>

namespace kiln {

namespace {

constexpr int64_t kNsPerSec = 1000000000;

// Days since 1970-01-01 of a civil date (proleptic Gregorian), as in H. Hinnant's algorithm.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::string FormatRFC3339Nano(int64_t unix_ns) {
  int64_t secs = unix_ns / kNsPerSec;
  int64_t frac = unix_ns % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (frac != 0) {
    std::string f = fmt::format("{:09d}", frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "Z";
}

Result<int64_t> ParseRFC3339(std::string_view text) {
  auto bad = [&] { return InvalidArgument(fmt::format("invalid RFC 3339 time \"{}\"", text)); };
  size_t i = 0;
  auto num = [&](size_t n, int64_t* v) {
    if (i + n > text.size()) return false;
    *v = 0;
    for (size_t k = 0; k < n; k++) {
      char c = text[i + k];
      if (c < '0' || c > '9') return false;
      *v = *v * 10 + (c - '0');
    }
    i += n;
    return true;
  };
  auto sep = [&](char c) {
    if (i >= text.size() || (text[i] != c && !(c == 'T' && text[i] == 't'))) return false;
    i++;
    return true;
  };
  int64_t y, mo, d, h, mi, s;
  if (!num(4, &y) || !sep('-') || !num(2, &mo) || !sep('-') || !num(2, &d) || !sep('T') ||
      !num(2, &h) || !sep(':') || !num(2, &mi) || !sep(':') || !num(2, &s)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  int64_t frac = 0;
  if (i < text.size() && text[i] == '.') {
    i++;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 9) frac = frac * 10 + (text[i] - '0');
      digits++;
      i++;
    }
    if (digits == 0) return bad();
    for (size_t k = digits; k < 9; k++) frac *= 10;
  }
  int64_t offset = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    i++;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int sign = text[i] == '-' ? -1 : 1;
    i++;
    int64_t oh, om;
    if (!num(2, &oh) || !sep(':') || !num(2, &om) || oh > 23 || om > 59) return bad();
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  if (i != text.size()) return bad();
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset;
  return secs * kNsPerSec + frac;
}

}  // namespace kiln
