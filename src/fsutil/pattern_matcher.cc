#include "fsutil/pattern_matcher.h"

#include <fmt/format.h>

#include "util/path.h"

namespace kiln::fsutil {

namespace {

using internal::GlobToken;

std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitSlash(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) {
      out.emplace_back(p.substr(i));
      return out;
    }
    out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool HasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

// Mirrors patternmatcher's regexp translation: an all-literal pattern is an exact match, a
// literal followed by a trailing "**" a prefix match, "**" followed by literals a suffix match,
// anything else a glob.
Result<Pattern> Pattern::Compile(std::string_view raw) {
  Pattern pat;
  std::string p = CleanPath(raw);
  if (p[0] == '!') {
    if (p.size() == 1) return InvalidArgument("illegal exclusion pattern: \"!\"");
    pat.exclusion_ = true;
    p = CleanPath(std::string_view(p).substr(1));
  }
  if (p.size() > 1 && p[0] == '/') p.erase(0, 1);
  if (Status s = internal::CheckGlobSyntax(p); !s.ok()) {
    return InvalidArgument(fmt::format("invalid pattern \"{}\": {}", raw, s.message()));
  }
  pat.text_ = p;

  std::vector<GlobToken> tokens;
  Kind kind = Kind::kExact;
  size_t i = 0;
  while (i < p.size()) {
    const bool first = i == 0;
    char c = p[i++];
    GlobToken t;
    if (c == '*' && i < p.size() && p[i] == '*') {
      i++;
      if (i < p.size() && p[i] == '/') i++;
      if (i == p.size()) {
        if (kind == Kind::kExact) {
          kind = Kind::kPrefix;
        } else {
          tokens.push_back(GlobToken::Of(GlobToken::Kind::kAll));
          kind = Kind::kGlob;
        }
      } else {
        tokens.push_back(GlobToken::Of(GlobToken::Kind::kDirStar));
        kind = Kind::kGlob;
      }
      if (first) kind = Kind::kSuffix;
      continue;
    }
    if (c == '*') {
      t.kind = GlobToken::Kind::kStar;
      kind = Kind::kGlob;
    } else if (c == '?') {
      t.kind = GlobToken::Kind::kAny;
      kind = Kind::kGlob;
    } else if (c == '[') {
      KILN_RETURN_IF_ERROR(internal::ParseClass(p, &i, &t));
      kind = Kind::kGlob;
    } else if (c == '\\' && i < p.size()) {
      size_t n = internal::DecodeRune(p, i).second;
      for (size_t k = 0; k < n; k++) tokens.push_back(GlobToken::Literal(p[i + k]));
      i += n;
      kind = Kind::kGlob;
      continue;
    } else {
      t.literal = c;
      if (c == ']') kind = Kind::kGlob;
    }
    tokens.push_back(std::move(t));
  }
  pat.kind_ = kind;
  if (kind == Kind::kPrefix) pat.affix_ = p.substr(0, p.size() - 2);
  if (kind == Kind::kSuffix) pat.affix_ = p.substr(2);
  pat.glob_ = internal::Glob(std::move(tokens));

  pat.components_ = SplitSlash(p);
  for (const std::string& comp : pat.components_) {
    bool wild = comp.find("**") != std::string::npos;
    Result<internal::Glob> g = internal::CompileComponentGlob(comp);
    wild = wild || !g.ok();
    pat.component_has_double_star_.push_back(wild);
    pat.component_globs_.push_back(wild ? internal::Glob() : std::move(g).value());
  }
  return pat;
}

bool Pattern::Match(std::string_view path) const {
  switch (kind_) {
    case Kind::kExact:
      return path == text_;
    case Kind::kPrefix:
      return HasPrefix(path, affix_);
    case Kind::kSuffix:
      // "**/foo" also matches "foo" at the top.
      if (HasSuffix(path, affix_)) return true;
      return !affix_.empty() && affix_[0] == '/' && path == std::string_view(affix_).substr(1);
    case Kind::kGlob:
      return glob_.Match(path);
  }
  return false;
}

bool Pattern::MayMatchInside(std::string_view dir) const {
  std::vector<std::string> parts = SplitSlash(dir);
  for (size_t k = 0; k < parts.size(); k++) {
    // The pattern ended at an ancestor of dir, or can span any number of directories.
    if (k == components_.size() || component_has_double_star_[k]) return true;
    if (!component_globs_[k].Match(parts[k])) return false;
  }
  return true;
}

Result<PatternMatcher> PatternMatcher::Create(const std::vector<std::string>& patterns) {
  PatternMatcher pm;
  for (const std::string& raw : patterns) {
    std::string_view p = TrimSpace(raw);
    if (p.empty()) continue;
    KILN_ASSIGN_OR_RETURN(Pattern pat, Pattern::Compile(p));
    pm.has_exceptions_ = pm.has_exceptions_ || pat.exclusion();
    pm.patterns_.push_back(std::move(pat));
  }
  return pm;
}

bool PatternMatcher::MatchesOrParentMatches(std::string_view path) const {
  std::vector<std::string_view> parents;  // "a", "a/b", ... for path "a/b/c"
  for (size_t i = path.find('/'); i != std::string_view::npos; i = path.find('/', i + 1)) {
    parents.push_back(path.substr(0, i));
  }
  bool matched = false;
  for (const Pattern& pat : patterns_) {
    // An inclusion cannot change a match, nor an exception a non-match.
    if (pat.exclusion() != matched) continue;
    bool m = pat.Match(path);
    for (size_t i = 0; !m && i < parents.size(); i++) m = pat.Match(parents[i]);
    if (m) matched = !pat.exclusion();
  }
  return matched;
}

bool PatternMatcher::MatchesUsingParentResults(std::string_view path, const MatchInfo& parent,
                                               MatchInfo* info) const {
  const bool have_parent = parent.parent_matched.size() == patterns_.size() && !empty();
  info->parent_matched.assign(patterns_.size(), false);
  bool matched = false;
  for (size_t i = 0; i < patterns_.size(); i++) {
    const Pattern& pat = patterns_[i];
    bool m = have_parent && parent.parent_matched[i];
    if (!m) {
      if (pat.exclusion() != matched) continue;
      m = pat.Match(path);
      if (!m && !have_parent) {
        // No parent results (a top-level call): check the parents directly.
        for (size_t j = path.find('/'); !m && j != std::string_view::npos;
             j = path.find('/', j + 1)) {
          m = pat.Match(path.substr(0, j));
        }
      }
    }
    info->parent_matched[i] = m;
    if (m) matched = !pat.exclusion();
  }
  return matched;
}

bool PatternMatcher::MayMatchInside(std::string_view dir, PatternSet set) const {
  const bool want_exceptions = set == PatternSet::kExceptions;
  for (const Pattern& pat : patterns_) {
    if (pat.exclusion() == want_exceptions && pat.MayMatchInside(dir)) return true;
  }
  return false;
}

}  // namespace kiln::fsutil
