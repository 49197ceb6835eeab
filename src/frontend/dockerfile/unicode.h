#pragma once
// Go's view of text, which BuildKit's Dockerfile parser and shell lexer inherit and which we
// reproduce so that the same bytes give the same words: UTF-8 decoding where each invalid byte
// is U+FFFD one byte wide (utf8.DecodeRune), and the unicode.IsSpace / IsLetter / IsDigit
// classes (tables from Unicode 13). Internal to kiln::dockerfile. Stateless, thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace kiln::dockerfile::internal {

inline constexpr char32_t kRuneError = 0xFFFD;

struct DecodedRune {
  char32_t rune = 0;
  size_t width = 0;  // 0 only at the end of the input
};

// Decodes the rune at s[pos] as Go's utf8.DecodeRune: overlong forms, surrogates and code
// points above U+10FFFF are invalid; an invalid sequence gives {U+FFFD, 1}.
DecodedRune DecodeRune(std::string_view s, size_t pos);

// Appends r as UTF-8; surrogates and values above U+10FFFF append U+FFFD (utf8.AppendRune).
void AppendRune(std::string* out, char32_t r);

// Rewrites s rune by rune, so each invalid byte becomes U+FFFD (what Go's []rune(s) and
// strings.Builder.WriteRune do to arbitrary bytes).
std::string SanitizeUtf8(std::string_view s);

// Table look-ups for code points above U+00FF (unicode_tables.cc).
bool IsLetterAboveLatin1(char32_t r);
bool IsDigitAboveLatin1(char32_t r);

bool IsSpace(char32_t r);   // unicode.IsSpace
bool IsLetter(char32_t r);  // unicode.IsLetter
bool IsDigit(char32_t r);   // unicode.IsDigit

// strings.TrimSpace / TrimLeftFunc(s, unicode.IsSpace) / TrimRightFunc(s, unicode.IsSpace).
std::string_view TrimSpace(std::string_view s);
std::string_view TrimLeftSpace(std::string_view s);
std::string_view TrimRightSpace(std::string_view s);

// strconv.Quote (Go's %q) for messages: like util's GoQuote for ASCII, plus \xNN for invalid
// UTF-8 and \uNNNN for the common non-printable characters (C1 controls, no-break and other
// Unicode blanks, zero-width and bidi controls, BOM, private use). Other characters that Go
// would escape (rare format and unassigned code points) are kept as they are.
std::string QuoteForMessage(std::string_view s);

// ASCII-only lower- and upper-casing (instruction names and directive keys).
std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);

}  // namespace kiln::dockerfile::internal
