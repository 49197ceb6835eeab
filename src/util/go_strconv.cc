#include "util/go_strconv.h"

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "util/go_quote.h"

namespace kiln {

Result<bool> GoParseBool(const std::string& v) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (v == t) return true;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (v == f) return false;
  }
  return InvalidArgument("strconv.ParseBool: parsing " + GoQuote(v) + ": invalid syntax");
}

Result<int64_t> GoParseInt(const std::string& v) {
  std::string_view digits = v;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  bool syntax = !digits.empty();
  for (char c : digits) syntax = syntax && c >= '0' && c <= '9';
  if (!syntax) {
    return InvalidArgument("strconv.ParseInt: parsing " + GoQuote(v) + ": invalid syntax");
  }
  errno = 0;
  long long n = strtoll(v.c_str(), nullptr, 10);
  if (errno == ERANGE) {
    return InvalidArgument("strconv.ParseInt: parsing " + GoQuote(v) + ": value out of range");
  }
  return static_cast<int64_t>(n);
}

}  // namespace kiln
