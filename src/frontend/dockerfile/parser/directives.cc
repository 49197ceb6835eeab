#include "frontend/dockerfile/parser/directives.h"

#include <fmt/format.h>

#include "frontend/dockerfile/parser/json.h"
#include "frontend/dockerfile/parser/lines.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile {

namespace {

// Go regexp's \s: [\t\n\f\r ].
bool IsRegexpSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || (c >= '0' && c <= '9'); }

// Matches `key \s* = \s* value` the way BuildKit's `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
// does, including its backtracking: a value of only blanks keeps its last blank.
bool MatchDirective(std::string_view s, std::string_view* key, std::string_view* value) {
  size_t i = 0;
  if (s.empty() || !IsAsciiAlpha(s[0])) return false;
  while (i < s.size() && IsAsciiAlnum(s[i])) i++;
  *key = s.substr(0, i);
  while (i < s.size() && IsRegexpSpace(s[i])) i++;
  if (i >= s.size() || s[i] != '=') return false;
  std::string_view rest = s.substr(i + 1);
  if (rest.empty()) return false;  // (lines never hold a '\n' here)
  size_t start = 0;
  while (start < rest.size() && IsRegexpSpace(rest[start])) start++;
  if (start == rest.size()) {
    *value = rest.substr(rest.size() - 1);
    return true;
  }
  size_t end = rest.size();
  while (end > start && IsRegexpSpace(rest[end - 1])) end--;
  *value = rest.substr(start, end - start);
  return true;
}

bool IsKnownDirective(std::string_view key) {
  return key == kDirectiveSyntax || key == kDirectiveEscape || key == kDirectiveCheck;
}

// ParseAll: directives from the top of `text` until the first non-directive line; an error (a
// repeated key) ends the scan and keeps what came before, as BuildKit's detection does.
std::vector<Directive> ParseAllDirectives(std::string_view text, DirectiveParser parser) {
  std::vector<Directive> out;
  internal::LineScanner scanner(text);
  std::string_view line;
  while (!parser.done() && scanner.Next(&line)) {
    // bufio.ScanLines drops the '\n' and one '\r' before it.
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto d = parser.ParseLine(line);
    if (!d.ok()) break;
    if (d->has_value()) out.push_back(std::move(**d));
  }
  return out;
}

std::optional<FoundDirective> FindWith(std::string_view key, std::string_view text,
                                       const DirectiveParser& parser) {
  for (const Directive& d : ParseAllDirectives(text, parser)) {
    if (d.name == key) {
      size_t sp = d.value.find(' ');
      return FoundDirective{d.value.substr(0, sp), d.value, d.line};
    }
  }
  return std::nullopt;
}

std::optional<FoundDirective> Find(std::string_view key, std::string_view text, bool any_form) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int line = 0;
  if (text.substr(0, 2) == "#!") {
    size_t nl = text.find('\n');
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line = 1;
  }
  if (auto found = FindWith(key, text, DirectiveParser("#", line))) return found;
  if (!any_form) return std::nullopt;
  if (auto found = FindWith(key, text, DirectiveParser("//", line))) return found;
  auto json = internal::ParseJsonTopLevel(text);
  if (!json.ok() || json->kind != internal::JsonTopLevel::Kind::kObject) return std::nullopt;
  // encoding/json into a map: the last duplicate key wins.
  std::optional<FoundDirective> found;
  for (const auto& [k, v] : json->members) {
    if (k != key) continue;
    found.reset();
    if (v.has_value()) found = FoundDirective{*v, *v, line};
  }
  return found;
}

}  // namespace

Result<std::optional<Directive>> DirectiveParser::ParseLine(std::string_view line) {
  line_++;
  if (done_) return std::optional<Directive>();
  if (line.substr(0, prefix_.size()) != prefix_) {
    done_ = true;
    return std::optional<Directive>();
  }
  line = internal::TrimLeftSpace(line.substr(prefix_.size()));
  std::string_view key, value;
  if (!MatchDirective(line, &key, &value)) {
    done_ = true;
    return std::optional<Directive>();
  }
  std::string name = internal::AsciiLower(key);
  if (!IsKnownDirective(name)) {
    done_ = true;
    return std::optional<Directive>();
  }
  if (!seen_.insert(name).second) {
    return InvalidArgument(fmt::format("only one {} parser directive can be used", name));
  }
  return std::optional<Directive>(Directive{std::move(name), std::string(value), line_});
}

Result<char> EscapeTokenFromDirective(std::string_view value) {
  if (value != "`" && value != "\\") {
    return InvalidArgument(fmt::format("invalid escape token '{}' does not match ` or \\", value));
  }
  return value[0];
}

std::optional<FoundDirective> DetectSyntax(std::string_view dockerfile) {
  return Find(kDirectiveSyntax, dockerfile, true);
}

std::optional<FoundDirective> FindDirective(std::string_view key, std::string_view dockerfile) {
  return Find(key, dockerfile, false);
}

}  // namespace kiln::dockerfile
