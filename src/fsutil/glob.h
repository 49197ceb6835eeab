#pragma once
// Glob matching shared by the pattern matcher and follow-paths resolution: a compiled token list
// matched against a whole string. Token semantics follow moby/patternmatcher's regexp translation
// (`*` = [^/]*, `?` = one rune except '/', `**` forms) and Go's filepath.Match for classes.
// Internal to kiln::fsutil. Immutable after construction, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace kiln::fsutil::internal {

struct GlobToken {
  enum class Kind {
    kLiteral,  // one byte
    kStar,     // [^/]*
    kAny,      // one rune except '/'
    kClass,    // one rune in (or, negated, not in) ranges
    kDirStar,  // (.*/)?  -- "**/" in the middle of a pattern
    kAll,      // .*      -- trailing "**"
  };
  Kind kind = Kind::kLiteral;
  char literal = 0;
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;

  static GlobToken Of(Kind kind) {
    GlobToken t;
    t.kind = kind;
    return t;
  }
  static GlobToken Literal(char c) {
    GlobToken t;
    t.literal = c;
    return t;
  }
};

class Glob {
 public:
  Glob() = default;
  explicit Glob(std::vector<GlobToken> tokens) : tokens_(std::move(tokens)) {}

  bool Match(std::string_view s) const;
  bool empty() const { return tokens_.empty(); }

 private:
  bool MatchFrom(std::string_view s, size_t ti, size_t si, std::vector<int8_t>* memo) const;

  std::vector<GlobToken> tokens_;
};

// Parses a character class whose '[' is at p[*pos - 1]; on success *pos is just past ']'.
// Syntax errors are Go filepath.ErrBadPattern cases, plus inverted ranges (a regexp error
// upstream).
Status ParseClass(std::string_view p, size_t* pos, GlobToken* out);

// Checks p the way Go's filepath.Match(p, ".") does: unclosed or empty classes, bad ranges and
// a trailing backslash are errors.
Status CheckGlobSyntax(std::string_view p);

// Compiles one path component with filepath.Match semantics (no "**").
Result<Glob> CompileComponentGlob(std::string_view p);

// True if the component contains an unescaped '*', '?' or '['.
bool ContainsWildcards(std::string_view name);

// Decodes one UTF-8 rune at s[i]; invalid bytes decode as U+FFFD of length 1.
std::pair<char32_t, size_t> DecodeRune(std::string_view s, size_t i);

}  // namespace kiln::fsutil::internal
