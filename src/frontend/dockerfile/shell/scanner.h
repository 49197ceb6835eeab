#pragma once
// A rune cursor with the behaviour of Go's text/scanner as BuildKit's shell lexer uses it (only
// Peek and Next): runes decoded as Go does (an invalid byte is U+FFFD), and a byte order mark at
// the very start skipped. Internal to kiln::dockerfile. Thread-compatible.

#include <string_view>

#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile::internal {

inline constexpr char32_t kEof = 0xFFFFFFFF;  // text/scanner's EOF; appends as U+FFFD

class RuneScanner {
 public:
  explicit RuneScanner(std::string_view s) : s_(s) {
    if (DecodeRune(s_, 0).rune == 0xFEFF) pos_ = 3;
  }

  char32_t Peek() const { return pos_ < s_.size() ? DecodeRune(s_, pos_).rune : kEof; }

  char32_t Next() {
    if (pos_ >= s_.size()) return kEof;
    DecodedRune d = DecodeRune(s_, pos_);
    pos_ += d.width;
    return d.rune;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace kiln::dockerfile::internal
