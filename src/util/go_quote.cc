#include "util/go_quote.h"

#include <fmt/format.h>

namespace kiln {

void AppendGoQuotedAscii(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\a':
      out += "\\a";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\v':
      out += "\\v";
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        out += fmt::format("\\x{:02x}", c);
      } else {
        out.push_back(static_cast<char>(c));
      }
  }
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) AppendGoQuotedAscii(out, c);
  out += '"';
  return out;
}

}  // namespace kiln
