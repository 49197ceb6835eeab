#include "frontend/dockerfile/shell/pattern.h"

#include <fmt/format.h>

#include "frontend/dockerfile/shell/scanner.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile::internal {

namespace {

Status InvalidPattern(std::string_view pattern, const Status& cause) {
  return InvalidArgument(
      fmt::format("invalid pattern ({}) in substitution: {}", pattern, cause.message()));
}

// Go's regexp.extract for a replacement template after '$': the reference's length and whether it
// is group 0 (the only group BuildKit's patterns have). Returns false for a malformed reference.
bool ExtractReference(std::string_view t, size_t* len, bool* whole_match) {
  size_t i = 0;
  bool brace = !t.empty() && t[0] == '{';
  if (brace) i = 1;
  size_t name_start = i;
  while (i < t.size()) {
    DecodedRune d = DecodeRune(t, i);
    if (!IsLetter(d.rune) && !IsDigit(d.rune) && d.rune != '_') break;
    i += d.width;
  }
  if (i == name_start) return false;
  std::string_view name = t.substr(name_start, i - name_start);
  if (brace) {
    if (i >= t.size() || t[i] != '}') return false;
    i++;
  }
  *len = i;
  *whole_match = name == "0";  // "00" and other leading zeros name no group
  return true;
}

// Regexp.Expand of `tmpl` for one match whose text is `match`.
void Expand(std::string* out, std::string_view tmpl, std::string_view match) {
  while (true) {
    size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out->append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out->push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    size_t len = 0;
    bool whole = false;
    if (!ExtractReference(tmpl, &len, &whole)) {
      out->push_back('$');
      continue;
    }
    if (whole) out->append(match);
    tmpl.remove_prefix(len);
  }
  out->append(tmpl);
}

}  // namespace

Result<ShellPattern> ShellPattern::Compile(std::string_view pattern, bool greedy) {
  ShellPattern p;
  p.greedy_ = greedy;
  RuneScanner s(pattern);
  for (char32_t tok = s.Next(); tok != kEof; tok = s.Next()) {
    Token t;
    if (tok == '*') {
      t.kind = Token::Kind::kStar;
    } else if (tok == '?') {
      t.kind = Token::Kind::kAny;
    } else if (tok == '\\') {
      if (s.Peek() == '}' || s.Peek() == '/') continue;  // the escape belonged to ${...}
      tok = s.Next();
      if (tok != '*' && tok != '?' && tok != '\\') {
        std::string msg = "invalid escape '\\";
        AppendRune(&msg, tok);
        msg += "'";
        return InvalidArgument(msg);
      }
      t.rune = tok;
    } else {
      t.rune = tok;
    }
    p.tokens_.push_back(t);
  }
  return p;
}

// Depth-first search in the order Go's backtracker prefers (a greedy star first consumes one
// more rune, a lazy one first moves on). The first complete path is the leftmost-first match.
// A state (token, position) seen before has failed already, whatever start position led there,
// so `failed` is shared across start positions and the search stays O(tokens * |s|).
ShellPattern::FailedStates::FailedStates(size_t tokens, size_t subject_size)
    : stride_(subject_size + 1) {
  constexpr size_t kMaxDenseBits = size_t{1} << 24;
  if (tokens == 0 || stride_ <= kMaxDenseBits / tokens) dense_.assign(tokens * stride_, false);
}

bool ShellPattern::FailedStates::TestAndSet(size_t token, size_t pos) {
  size_t key = token * stride_ + pos;
  if (!dense_.empty()) {
    bool was = dense_[key];
    dense_[key] = true;
    return was;
  }
  return !sparse_.insert(key).second;
}

std::optional<size_t> ShellPattern::MatchAt(std::string_view s, size_t pos,
                                            FailedStates* failed) const {
  struct State {
    size_t ti;
    size_t pos;
  };
  std::vector<State> alternatives;
  size_t ti = 0;
  size_t p = pos;
  while (true) {
    if (ti == tokens_.size()) return p;
    bool fail = failed->TestAndSet(ti, p);
    if (!fail) {
      const Token& t = tokens_[ti];
      DecodedRune d = DecodeRune(s, p);
      bool any = d.width > 0 && d.rune != '\n';
      switch (t.kind) {
        case Token::Kind::kLiteral:
          fail = d.width == 0 || d.rune != t.rune;
          if (!fail) {
            ti++;
            p += d.width;
          }
          break;
        case Token::Kind::kAny:
          fail = !any;
          if (!fail) {
            ti++;
            p += d.width;
          }
          break;
        case Token::Kind::kStar:
          if (!any) {
            ti++;
          } else if (greedy_) {
            alternatives.push_back({ti + 1, p});
            p += d.width;
          } else {
            alternatives.push_back({ti, p + d.width});
            ti++;
          }
          break;
      }
    }
    if (fail) {
      if (alternatives.empty()) return std::nullopt;
      ti = alternatives.back().ti;
      p = alternatives.back().pos;
      alternatives.pop_back();
    }
  }
}

std::optional<std::pair<size_t, size_t>> ShellPattern::Find(std::string_view s, size_t from,
                                                            bool anchored,
                                                            FailedStates* failed) const {
  for (size_t start = from;;) {
    if (auto end = MatchAt(s, start, failed)) return std::make_pair(start, *end);
    if (anchored || start >= s.size()) return std::nullopt;
    start += DecodeRune(s, start).width;
  }
}

std::string ReverseRunes(std::string_view s) {
  std::vector<char32_t> runes;
  for (size_t i = 0; i < s.size();) {
    DecodedRune d = DecodeRune(s, i);
    runes.push_back(d.rune);
    i += d.width;
  }
  std::string out;
  out.reserve(s.size());
  for (auto it = runes.rbegin(); it != runes.rend(); ++it) AppendRune(&out, *it);
  return out;
}

std::string ReversePattern(std::string_view pattern) {
  std::vector<char32_t> in;
  for (size_t i = 0; i < pattern.size();) {
    DecodedRune d = DecodeRune(pattern, i);
    in.push_back(d.rune);
    i += d.width;
  }
  std::vector<char32_t> out(in.size());
  const size_t n = in.size();
  for (size_t i = 0; i < n;) {
    size_t o = n - 1 - i;
    if (in[i] == '\\' && i + 1 < n) {
      out[o - 1] = in[i];
      out[o] = in[i + 1];
      i += 2;
    } else {
      out[o] = in[i];
      i++;
    }
  }
  std::string s;
  for (char32_t r : out) AppendRune(&s, r);
  return s;
}

Result<std::string> TrimPrefix(std::string_view pattern, std::string_view value, bool greedy) {
  auto re = ShellPattern::Compile(pattern, greedy);
  if (!re.ok()) return InvalidPattern(pattern, re.status());
  ShellPattern::FailedStates failed(re->size(), value.size());
  if (auto m = re->Find(value, 0, /*anchored=*/true, &failed)) {
    return std::string(value.substr(m->second));
  }
  return std::string(value);
}

Result<std::string> TrimSuffix(std::string_view pattern, std::string_view value, bool greedy) {
  KILN_ASSIGN_OR_RETURN(std::string reversed,
                        TrimPrefix(ReversePattern(pattern), ReverseRunes(value), greedy));
  return ReverseRunes(reversed);
}

Result<std::string> Replace(std::string_view pattern, std::string_view value,
                            std::string_view replacement, bool all) {
  auto re = ShellPattern::Compile(pattern, /*greedy=*/true);
  if (!re.ok()) return InvalidPattern(pattern, re.status());
  ShellPattern::FailedStates failed(re->size(), value.size());
  if (!all) {
    auto m = re->Find(value, 0, /*anchored=*/false, &failed);
    if (!m) return std::string(value);
    return std::string(value.substr(0, m->first)) + std::string(replacement) +
           std::string(value.substr(m->second));
  }
  // Regexp.ReplaceAllString's loop: an empty match right after a match is not replaced, and the
  // search always advances by at least one rune.
  std::string out;
  size_t last_end = 0;
  size_t search = 0;
  while (search <= value.size()) {
    auto m = re->Find(value, search, /*anchored=*/false, &failed);
    if (!m) break;
    out.append(value.substr(last_end, m->first - last_end));
    if (m->second > last_end || m->first == 0) {
      Expand(&out, replacement, value.substr(m->first, m->second - m->first));
    }
    last_end = m->second;
    size_t width = DecodeRune(value, search).width;
    if (search + width > m->second) {
      search += width;
    } else if (search + 1 > m->second) {
      search++;
    } else {
      search = m->second;
    }
  }
  out.append(value.substr(last_end));
  return out;
}

}  // namespace kiln::dockerfile::internal
