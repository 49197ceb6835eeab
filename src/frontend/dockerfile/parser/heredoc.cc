#include "frontend/dockerfile/parser/heredoc.h"

#include <algorithm>
#include <limits>

#include "frontend/dockerfile/shell/lex.h"

namespace kiln::dockerfile::internal {

namespace {

bool IsRegexpSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

size_t CountQuotes(std::string_view s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\'') +
                             std::count(s.begin(), s.end(), '"'));
}

// strconv.ParseUint(digits, 10, 0) with the error ignored: "" is 0, overflow saturates.
uint64_t ParseFd(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return std::numeric_limits<uint64_t>::max();
    }
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

bool CanContainHeredoc(const Node& node) {
  const Node* n = &node;
  if (n->value == "onbuild" && !n->children.empty()) n = &n->children[0];
  if (n->value != "run" && n->value != "copy" && n->value != "add") return false;
  return !n->json;
}

Result<std::optional<Heredoc>> ParseHeredocWord(std::string_view word) {
  // ^(\d*)<<(-?)\s*([^<]*)$
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') i++;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return std::optional<Heredoc>();
  i += 2;
  bool chomp = i < word.size() && word[i] == '-';
  if (chomp) i++;
  while (i < word.size() && IsRegexpSpace(word[i])) i++;
  std::string_view rest = word.substr(i);
  if (rest.find('<') != std::string_view::npos || rest.empty()) return std::optional<Heredoc>();

  ShellLexOptions options;
  options.skip_unset_env = true;
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> words,
                        ShellLex('\\', options).ProcessWords(rest, {}));
  if (words.size() != 1) return std::optional<Heredoc>();
  options.raw_quotes = true;
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> raw,
                        ShellLex('\\', options).ProcessWords(rest, {}));
  if (raw.size() != words.size()) {
    return InvalidArgument("internal lexing of heredoc produced inconsistent results: " +
                           std::string(rest));
  }
  Heredoc h;
  h.name = words[0];
  h.expand = CountQuotes(words[0]) == CountQuotes(raw[0]);
  h.chomp = chomp;
  h.file_descriptor = ParseFd(digits);
  return std::optional<Heredoc>(std::move(h));
}

Result<std::vector<Heredoc>> HeredocsFromLine(std::string_view line) {
  ShellLexOptions options;
  options.raw_quotes = true;
  options.raw_escapes = true;
  options.skip_unset_env = true;
  std::vector<Heredoc> docs;
  auto words = ShellLex('\\', options).ProcessWords(line, {});
  if (!words.ok()) return docs;  // BuildKit ignores a line it cannot split
  for (const std::string& word : *words) {
    KILN_ASSIGN_OR_RETURN(std::optional<Heredoc> h, ParseHeredocWord(word));
    if (h) docs.push_back(std::move(*h));
  }
  return docs;
}

}  // namespace kiln::dockerfile::internal
