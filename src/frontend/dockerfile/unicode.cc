#include "frontend/dockerfile/unicode.h"

#include <fmt/format.h>

#include "util/go_quote.h"

namespace kiln::dockerfile::internal {

DecodedRune DecodeRune(std::string_view s, size_t pos) {
  if (pos >= s.size()) return {kRuneError, 0};
  auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) return {b0, 1};
  size_t need = 0;
  char32_t r = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    r = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    r = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    r = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {kRuneError, 1};
  }
  if (pos + need >= s.size()) return {kRuneError, 1};  // truncated sequence
  for (size_t i = 1; i <= need; i++) {
    auto b = static_cast<unsigned char>(s[pos + i]);
    unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
    if (b < min || b > max) return {kRuneError, 1};
    r = (r << 6) | (b & 0x3F);
  }
  return {r, need + 1};
}

void AppendRune(std::string* out, char32_t r) {
  if ((r >= 0xD800 && r <= 0xDFFF) || r > 0x10FFFF) r = kRuneError;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    DecodedRune d = DecodeRune(s, i);
    AppendRune(&out, d.rune);
    i += d.width;
  }
  return out;
}

bool IsSpace(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

bool IsLetter(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  if (r <= 0xFF) {
    return r == 0xAA || r == 0xB5 || r == 0xBA || (r >= 0xC0 && r != 0xD7 && r != 0xF7);
  }
  return IsLetterAboveLatin1(r);
}

bool IsDigit(char32_t r) {
  if (r <= 0xFF) return r >= '0' && r <= '9';
  return IsDigitAboveLatin1(r);
}

std::string_view TrimLeftSpace(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    DecodedRune d = DecodeRune(s, i);
    if (IsSpace(d.rune)) {
      i += d.width;
    } else {
      break;
    }
  }
  return s.substr(i);
}

std::string_view TrimRightSpace(std::string_view s) {
  size_t end = 0;  // end of the last non-space rune
  for (size_t i = 0; i < s.size();) {
    DecodedRune d = DecodeRune(s, i);
    i += d.width;
    if (!IsSpace(d.rune)) end = i;
  }
  return s.substr(0, end);
}

std::string_view TrimSpace(std::string_view s) { return TrimRightSpace(TrimLeftSpace(s)); }

namespace {

bool IsNonPrintable(char32_t r) {
  if (r >= 0x80 && r <= 0xA0) return true;
  if (r == 0xAD) return true;
  if (r > 0xFF && IsSpace(r)) return true;
  return (r >= 0x200B && r <= 0x200F) || (r >= 0x2028 && r <= 0x202E) ||
         (r >= 0x2060 && r <= 0x206F) || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) ||
         (r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000;
}

}  // namespace

std::string QuoteForMessage(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    DecodedRune d = DecodeRune(s, i);
    char32_t r = d.rune;
    if (r == kRuneError && d.width == 1) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
    } else if (r < 0x80) {
      AppendGoQuotedAscii(out, static_cast<unsigned char>(r));
    } else if (IsNonPrintable(r)) {
      out += r < 0x10000 ? fmt::format("\\u{:04x}", static_cast<unsigned>(r))
                         : fmt::format("\\U{:08x}", static_cast<unsigned>(r));
    } else {
      out.append(s.substr(i, d.width));
    }
    i += d.width;
  }
  out += '"';
  return out;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace kiln::dockerfile::internal
