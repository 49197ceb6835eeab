#include "fsutil/glob.h"

namespace kiln::fsutil::internal {

namespace {

Status BadPattern() { return InvalidArgument("syntax error in pattern"); }

// One class bound (filepath.Match's getEsc): a rune, possibly backslash-escaped, that must be
// followed by more pattern.
Status ClassBound(std::string_view p, size_t* pos, char32_t* out) {
  if (*pos >= p.size() || p[*pos] == '-' || p[*pos] == ']') return BadPattern();
  if (p[*pos] == '\\') {
    ++*pos;
    if (*pos >= p.size()) return BadPattern();
  }
  auto [r, n] = DecodeRune(p, *pos);
  *pos += n;
  if (*pos >= p.size()) return BadPattern();
  *out = r;
  return Status::Ok();
}

}  // namespace

std::pair<char32_t, size_t> DecodeRune(std::string_view s, size_t i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  size_t n = 0;
  char32_t r = 0;
  char32_t min = 0;
  if ((b0 & 0xe0) == 0xc0) {
    n = 2, r = b0 & 0x1f, min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3, r = b0 & 0x0f, min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4, r = b0 & 0x07, min = 0x10000;
  } else {
    return {0xfffd, 1};
  }
  if (i + n > s.size()) return {0xfffd, 1};
  for (size_t k = 1; k < n; k++) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return {0xfffd, 1};
    r = (r << 6) | (b & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return {0xfffd, 1};
  return {r, n};
}

Status ParseClass(std::string_view p, size_t* pos, GlobToken* out) {
  out->kind = GlobToken::Kind::kClass;
  out->ranges.clear();
  out->negated = false;
  if (*pos < p.size() && p[*pos] == '^') {
    out->negated = true;
    ++*pos;
  }
  while (true) {
    if (*pos < p.size() && p[*pos] == ']' && !out->ranges.empty()) {
      ++*pos;
      return Status::Ok();
    }
    char32_t lo = 0;
    KILN_RETURN_IF_ERROR(ClassBound(p, pos, &lo));
    char32_t hi = lo;
    if (p[*pos] == '-') {
      ++*pos;
      KILN_RETURN_IF_ERROR(ClassBound(p, pos, &hi));
    }
    if (hi < lo) return BadPattern();
    out->ranges.emplace_back(lo, hi);
  }
}

Status CheckGlobSyntax(std::string_view p) {
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i++];
    if (c == '\\') {
      if (i >= p.size()) return BadPattern();
      i += DecodeRune(p, i).second;
    } else if (c == '[') {
      GlobToken t;
      KILN_RETURN_IF_ERROR(ParseClass(p, &i, &t));
    }
  }
  return Status::Ok();
}

Result<Glob> CompileComponentGlob(std::string_view p) {
  std::vector<GlobToken> tokens;
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i++];
    GlobToken t;
    if (c == '*') {
      t.kind = GlobToken::Kind::kStar;
      if (!tokens.empty() && tokens.back().kind == GlobToken::Kind::kStar) continue;
    } else if (c == '?') {
      t.kind = GlobToken::Kind::kAny;
    } else if (c == '[') {
      KILN_RETURN_IF_ERROR(ParseClass(p, &i, &t));
    } else if (c == '\\') {
      if (i >= p.size()) return BadPattern();
      size_t n = DecodeRune(p, i).second;
      for (size_t k = 0; k < n; k++) tokens.push_back(GlobToken::Literal(p[i + k]));
      i += n;
      continue;
    } else {
      t.literal = c;
    }
    tokens.push_back(std::move(t));
  }
  return Glob(std::move(tokens));
}

bool ContainsWildcards(std::string_view name) {
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c == '\\') {
      i++;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

bool Glob::Match(std::string_view s) const {
  std::vector<int8_t> memo;
  return MatchFrom(s, 0, 0, &memo);
}

// Matches tokens_[ti..] against s[si..]. Star-like tokens recurse once per candidate split;
// memo (allocated lazily, indexed by token and position) keeps that polynomial.
bool Glob::MatchFrom(std::string_view s, size_t ti, size_t si, std::vector<int8_t>* memo) const {
  const size_t width = s.size() + 1;
  while (ti < tokens_.size()) {
    const GlobToken& t = tokens_[ti];
    switch (t.kind) {
      case GlobToken::Kind::kLiteral:
        if (si >= s.size() || s[si] != t.literal) return false;
        si++;
        ti++;
        continue;
      case GlobToken::Kind::kAny:
      case GlobToken::Kind::kClass: {
        if (si >= s.size()) return false;
        auto [r, n] = DecodeRune(s, si);
        bool ok = false;
        if (t.kind == GlobToken::Kind::kAny) {
          ok = r != '/';
        } else {
          bool in = false;
          for (const auto& [lo, hi] : t.ranges) in = in || (lo <= r && r <= hi);
          ok = in != t.negated;
        }
        if (!ok) return false;
        si += n;
        ti++;
        continue;
      }
      case GlobToken::Kind::kStar:
      case GlobToken::Kind::kDirStar:
      case GlobToken::Kind::kAll:
        break;
    }
    // A star-like token: try every split point.
    if (memo->empty()) memo->assign((tokens_.size() + 1) * width, -1);
    int8_t& cached = (*memo)[ti * width + si];
    if (cached >= 0) return cached == 1;
    bool result = false;
    for (size_t j = si; j <= s.size() && !result; j++) {
      if (t.kind == GlobToken::Kind::kDirStar) {
        // Empty, or anything up to and including a '/'.
        if (j == si || s[j - 1] == '/') result = MatchFrom(s, ti + 1, j, memo);
      } else {
        result = MatchFrom(s, ti + 1, j, memo);
      }
      if (j < s.size()) {
        // Go regexp: '.' stops at newline; [^/] stops at '/'.
        if (t.kind == GlobToken::Kind::kStar && s[j] == '/') break;
        if (t.kind != GlobToken::Kind::kStar && s[j] == '\n') break;
      }
    }
    cached = result ? 1 : 0;
    return result;
  }
  return si == s.size();
}

}  // namespace kiln::fsutil::internal
