#pragma once
// The patterns of `${var#p}`, `${var%p}` and `${var/p/r}`, with BuildKit's semantics: `*` is any
// run of characters, `?` one character, `\*`, `\?`, `\\` are literals, `\}` and `\/` stand for
// `}` and `/`; there are no `[...]` classes (BuildKit escapes `[` and matches it literally).
// BuildKit turns the pattern into a Go regular expression, so we match the way Go's regexp does:
// leftmost-first, `*` greedy or lazy as the operator asks, `*` and `?` never match '\n', and
// input is read as runes (an invalid byte is one U+FFFD).
// Internal to kiln::dockerfile. Immutable after Compile; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/status.h"

namespace kiln::dockerfile::internal {

class ShellPattern {
 public:
  // Fails with "invalid escape '\x'" for a backslash before anything else.
  static Result<ShellPattern> Compile(std::string_view pattern, bool greedy);

  // States (token, position) known not to lead to a match in one subject string. Valid across
  // start positions, so one memo serves every search over the same string.
  class FailedStates {
   public:
    FailedStates(size_t tokens, size_t subject_size);
    bool TestAndSet(size_t token, size_t pos);  // whether it was set already

   private:
    size_t stride_;
    std::vector<bool> dense_;              // small problems
    std::unordered_set<uint64_t> sparse_;  // large ones: only the states visited
  };

  // The first match as Go's FindStringIndex over s[from:]: the leftmost start, and there the
  // preferred end. `anchored` only tries s[from]. `failed` must belong to this pattern and s.
  std::optional<std::pair<size_t, size_t>> Find(std::string_view s, size_t from, bool anchored,
                                                FailedStates* failed) const;
  size_t size() const { return tokens_.size(); }

 private:
  struct Token {
    enum class Kind { kLiteral, kAny, kStar };
    Kind kind = Kind::kLiteral;
    char32_t rune = 0;
  };

  std::optional<size_t> MatchAt(std::string_view s, size_t pos, FailedStates* failed) const;

  std::vector<Token> tokens_;
  bool greedy_ = true;
};

// ${var#p} (greedy: ${var##p}): value without its shortest (longest) prefix matching p.
Result<std::string> TrimPrefix(std::string_view pattern, std::string_view value, bool greedy);
// ${var%p} (greedy: ${var%%p}): value without its shortest (longest) suffix matching p, found
// as BuildKit does by reversing both (so invalid UTF-8 in value becomes U+FFFD).
Result<std::string> TrimSuffix(std::string_view pattern, std::string_view value, bool greedy);
// ${var/p/r} and ${var//p/r}. The replace-all form expands `$0` / `${0}` in r to the match and
// other `$name` references to nothing, `$$` to `$` (Go's Regexp.ReplaceAllString); the
// first-match form inserts r as it is.
Result<std::string> Replace(std::string_view pattern, std::string_view value,
                            std::string_view replacement, bool all);

// Exposed for tests: rune reversal keeping `\x` pairs in order ("a\*c" -> "c\*a"), and plain
// rune reversal.
std::string ReversePattern(std::string_view pattern);
std::string ReverseRunes(std::string_view s);

}  // namespace kiln::dockerfile::internal
