#include "frontend/dockerfile/parser/json.h"

#include <fmt/format.h>

#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile::internal {

namespace {

constexpr size_t kMaxDepth = 10000;  // encoding/json's maxNestingDepth

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  Result<JsonTopLevel> Read();

 private:
  Status Fail(std::string_view what) const {
    return InvalidArgument(fmt::format("invalid JSON at offset {}: {}", i_, what));
  }
  void SkipSpace() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      i_++;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      i_++;
      return true;
    }
    return false;
  }
  Result<std::string> String();
  Status Number();
  Status Literal();
  Status Key(std::string* key);
  int Hex4(size_t at) const;

  std::string_view s_;
  size_t i_ = 0;
};

int JsonReader::Hex4(size_t at) const {
  if (at + 6 > s_.size() || s_[at] != '\\' || s_[at + 1] != 'u') return -1;
  int v = 0;
  for (size_t k = at + 2; k < at + 6; k++) {
    char c = s_[k];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    v = v * 16 + d;
  }
  return v;
}

Result<std::string> JsonReader::String() {
  i_++;  // opening quote
  std::string out;
  while (true) {
    if (i_ >= s_.size()) return Fail("unterminated string");
    auto c = static_cast<unsigned char>(s_[i_]);
    if (c == '"') {
      i_++;
      return out;
    }
    if (c < 0x20) return Fail("control character in string");
    if (c == '\\') {
      if (i_ + 1 >= s_.size()) return Fail("unterminated escape");
      char e = s_[i_ + 1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          int r = Hex4(i_);
          if (r < 0) return Fail("bad \\u escape");
          i_ += 6;
          char32_t rune = static_cast<char32_t>(r);
          if (rune >= 0xD800 && rune < 0xE000) {
            int r2 = Hex4(i_);
            if (rune < 0xDC00 && r2 >= 0xDC00 && r2 < 0xE000) {
              rune = 0x10000 + ((rune - 0xD800) << 10) + (static_cast<char32_t>(r2) - 0xDC00);
              i_ += 6;
            } else {
              rune = kRuneError;
            }
          }
          AppendRune(&out, rune);
          continue;
        }
        default:
          return Fail("bad escape");
      }
      i_ += 2;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      i_++;
      continue;
    }
    DecodedRune d = DecodeRune(s_, i_);
    if (d.rune == kRuneError && d.width == 1) {
      AppendRune(&out, kRuneError);
    } else {
      out.append(s_.substr(i_, d.width));
    }
    i_ += d.width;
  }
}

Status JsonReader::Number() {
  auto digit = [this] { return i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; };
  if (s_[i_] == '-') i_++;
  if (!digit()) return Fail("bad number");
  if (s_[i_] == '0') {
    i_++;
  } else {
    while (digit()) i_++;
  }
  if (i_ < s_.size() && s_[i_] == '.') {
    i_++;
    if (!digit()) return Fail("bad fraction");
    while (digit()) i_++;
  }
  if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
    i_++;
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) i_++;
    if (!digit()) return Fail("bad exponent");
    while (digit()) i_++;
  }
  return Status::Ok();
}

Status JsonReader::Literal() {
  for (std::string_view lit : {"true", "false", "null"}) {
    if (s_.substr(i_, lit.size()) == lit) {
      i_ += lit.size();
      return Status::Ok();
    }
  }
  return Fail("invalid character");
}

Status JsonReader::Key(std::string* key) {
  SkipSpace();
  if (i_ >= s_.size() || s_[i_] != '"') return Fail("object key must be a string");
  KILN_ASSIGN_OR_RETURN(*key, String());
  if (!Consume(':')) return Fail("missing ':' after object key");
  return Status::Ok();
}

Result<JsonTopLevel> JsonReader::Read() {
  JsonTopLevel top;
  std::vector<char> open;  // '[' or '{' per enclosing container
  std::string key;
  while (true) {
    // A value is expected here.
    SkipSpace();
    if (i_ >= s_.size()) return Fail("unexpected end of input");
    char c = s_[i_];
    std::optional<std::string> str;
    bool closed_empty = false;
    if (c == '[' || c == '{') {
      if (open.size() >= kMaxDepth) return Fail("exceeded max depth");
      if (open.empty()) {
        top.kind = c == '[' ? JsonTopLevel::Kind::kArray : JsonTopLevel::Kind::kObject;
      } else if (open.size() == 1) {
        if (open[0] == '[') {
          top.items.emplace_back();
        } else {
          top.members.emplace_back(key, std::nullopt);
        }
      }
      open.push_back(c);
      i_++;
      if (Consume(c == '[' ? ']' : '}')) {
        open.pop_back();
        closed_empty = true;
      } else if (c == '{') {
        KILN_RETURN_IF_ERROR(Key(&key));
        continue;
      } else {
        continue;
      }
    } else if (c == '"') {
      KILN_ASSIGN_OR_RETURN(str, String());
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      KILN_RETURN_IF_ERROR(Number());
    } else {
      KILN_RETURN_IF_ERROR(Literal());
    }
    if (!closed_empty && open.size() == 1) {
      if (open[0] == '[') {
        top.items.push_back(std::move(str));
      } else {
        top.members.emplace_back(key, std::move(str));
      }
    }
    // After a value: a separator, closers, or the end of the input.
    while (true) {
      SkipSpace();
      if (open.empty()) {
        if (i_ != s_.size()) return Fail("data after top-level value");
        return top;
      }
      if (i_ >= s_.size()) return Fail("unexpected end of input");
      char close = open.back() == '[' ? ']' : '}';
      if (s_[i_] == close) {
        i_++;
        open.pop_back();
        continue;
      }
      if (s_[i_] != ',') return Fail("expected ',' or a closing bracket");
      i_++;
      if (open.back() == '{') KILN_RETURN_IF_ERROR(Key(&key));
      break;
    }
  }
}

}  // namespace

Result<JsonTopLevel> ParseJsonTopLevel(std::string_view text) { return JsonReader(text).Read(); }

}  // namespace kiln::dockerfile::internal
