#pragma once
// Docker/moby patternmatcher semantics, as used by .dockerignore and by the include/exclude
// patterns of local sources. A path is matched against an ordered list of patterns; a pattern
// with a leading '!' is an exception; the last pattern that matches decides. A pattern that
// matches a directory also matches everything under it.
//
// Pattern syntax: cleaned slash paths with `*` (any run of non-'/' bytes), `?` (one rune except
// '/'), `[...]` classes (`^` negates, `a-z` ranges), `\` escapes, and `**` for any number of
// directories (`**/x`, `a/**/x`, `a/**`). Leading and trailing whitespace is ignored and empty
// patterns are skipped. Unlike upstream's raw matcher, a leading '/' is dropped (the context
// root is "/", as the .dockerignore documentation describes).
//
// Immutable after Create; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "fsutil/glob.h"
#include "util/status.h"

namespace kiln::fsutil {

class Pattern {
 public:
  const std::string& text() const { return text_; }  // cleaned, without the '!'
  bool exclusion() const { return exclusion_; }
  // Whether the pattern matches `path` itself (no parent rule).
  bool Match(std::string_view path) const;
  // Whether this pattern could match some path strictly inside directory `dir`, or matches
  // `dir` or one of its parents. Conservative: may say true when nothing inside would match.
  bool MayMatchInside(std::string_view dir) const;

 private:
  friend class PatternMatcher;
  enum class Kind { kExact, kPrefix, kSuffix, kGlob };

  static Result<Pattern> Compile(std::string_view raw);

  std::string text_;
  bool exclusion_ = false;
  Kind kind_ = Kind::kExact;
  std::string affix_;  // kPrefix / kSuffix literal
  internal::Glob glob_;
  std::vector<std::string> components_;
  std::vector<internal::Glob> component_globs_;  // empty entry = component contains "**"
  std::vector<bool> component_has_double_star_;
};

class PatternMatcher {
 public:
  // Per-pattern results for a directory, passed down to its children so that patterns that
  // matched a parent are not evaluated again (upstream's MatchesUsingParentResults).
  struct MatchInfo {
    std::vector<bool> parent_matched;
  };

  enum class PatternSet { kInclusions, kExceptions };

  // Fails with InvalidArgument naming the first malformed pattern.
  static Result<PatternMatcher> Create(const std::vector<std::string>& patterns);

  PatternMatcher() = default;

  bool empty() const { return patterns_.empty(); }
  bool has_exceptions() const { return has_exceptions_; }
  const std::vector<Pattern>& patterns() const { return patterns_; }

  // True if `path` (a clean relative slash path) or one of its parents matches and no later
  // exception pattern matches it.
  bool MatchesOrParentMatches(std::string_view path) const;

  // The same decision for a walk: `parent` is the MatchInfo of path's directory (empty for a
  // top-level entry); `info` receives this path's MatchInfo for its children.
  bool MatchesUsingParentResults(std::string_view path, const MatchInfo& parent,
                                 MatchInfo* info) const;

  // Whether any pattern of `set` (non-'!' patterns, or '!' exceptions) could match something
  // inside directory `dir`. A walker may skip a directory that is not included when this is
  // false for kInclusions, and one that is excluded when it is false for kExceptions.
  bool MayMatchInside(std::string_view dir, PatternSet set) const;

 private:
  std::vector<Pattern> patterns_;
  bool has_exceptions_ = false;
};

}  // namespace kiln::fsutil
