#include "frontend/dockerfile/parser/line_parsers.h"

#include <fmt/format.h>

#include "frontend/dockerfile/parser/json.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile::internal {

namespace {

constexpr std::string_view kNotStringArray =
    "when using JSON array syntax, arrays must be comprised of strings only";

// The parser's `[\t\v\f\r ]+` separator.
bool IsSeparator(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

// unicode.IsSpace of a byte taken as a rune (Latin-1).
bool IsSpaceByte(unsigned char b) { return IsSpace(b); }

// Splits s at runs of separators; s has no separator at either end.
std::vector<std::string> SplitSeparators(std::string_view s, size_t max_parts) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (true) {
    size_t j = i;
    while (j < s.size() && !IsSeparator(s[j])) j++;
    if (j == s.size() || parts.size() + 1 == max_parts) {
      parts.emplace_back(s.substr(i));
      return parts;
    }
    parts.emplace_back(s.substr(i, j - i));
    while (j < s.size() && IsSeparator(s[j])) j++;
    i = j;
  }
}

// Node arguments for each argument form.
struct Args {
  std::vector<std::string> next;
  std::vector<Node> children;
  bool json = false;
};

enum class JsonOutcome { kArray, kNotJson, kNotStringArray };

JsonOutcome ParseJsonArray(std::string_view rest, Args* out) {
  rest = TrimLeftSpace(rest);
  if (rest.empty() || rest[0] != '[') return JsonOutcome::kNotJson;
  auto json = ParseJsonTopLevel(rest);
  if (!json.ok()) return JsonOutcome::kNotJson;
  std::vector<std::string> items;
  for (auto& item : json->items) {
    if (!item) return JsonOutcome::kNotStringArray;
    items.push_back(std::move(*item));
  }
  out->next = std::move(items);
  out->json = true;
  return JsonOutcome::kArray;
}

Status ParseMaybeJson(std::string_view rest, Args* out) {
  if (rest.empty()) return Status::Ok();
  switch (ParseJsonArray(rest, out)) {
    case JsonOutcome::kArray:
      return Status::Ok();
    case JsonOutcome::kNotStringArray:
      return InvalidArgument(std::string(kNotStringArray));
    case JsonOutcome::kNotJson:
      break;
  }
  out->next = {std::string(rest)};
  return Status::Ok();
}

void ParseWhitespaceDelimited(std::string_view rest, Args* out) {
  if (rest.empty()) return;
  out->next = SplitSeparators(rest, 0);
}

Status ParseMaybeJsonToList(std::string_view rest, Args* out) {
  switch (ParseJsonArray(rest, out)) {
    case JsonOutcome::kArray:
      return Status::Ok();
    case JsonOutcome::kNotStringArray:
      return InvalidArgument(std::string(kNotStringArray));
    case JsonOutcome::kNotJson:
      break;
  }
  ParseWhitespaceDelimited(rest, out);
  return Status::Ok();
}

Status ParseNameVal(std::string_view rest, std::string_view instruction, char32_t escape,
                    Args* out) {
  std::vector<std::string> words = ParseWords(rest, escape);
  if (words.empty()) return Status::Ok();
  if (words[0].find('=') == std::string::npos) {  // legacy `ENV key value`
    std::vector<std::string> parts = SplitSeparators(rest, 2);
    if (parts.size() < 2) {
      return InvalidArgument(fmt::format("{} must have two arguments", instruction));
    }
    out->next = {parts[0], parts[1], ""};
    return Status::Ok();
  }
  for (const std::string& word : words) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument(
          fmt::format("Syntax error - can't find = in {}. Must be of the form: name=value",
                      QuoteForMessage(word)));
    }
    out->next.push_back(word.substr(0, eq));
    out->next.push_back(word.substr(eq + 1));
    out->next.push_back("=");
  }
  return Status::Ok();
}

Status ParseHealthConfig(std::string_view rest, Args* out) {
  // Byte by byte, as BuildKit (see SplitCommand).
  size_t sep = 0;
  while (sep < rest.size() && !IsSpaceByte(static_cast<unsigned char>(rest[sep]))) sep++;
  if (sep == 0) return Status::Ok();
  size_t next = sep;
  while (next < rest.size() && IsSpaceByte(static_cast<unsigned char>(rest[next]))) next++;
  std::string_view cmd = rest.substr(next);
  Args command;
  KILN_RETURN_IF_ERROR(ParseMaybeJson(cmd, &command));
  out->next.emplace_back(rest.substr(0, sep));
  for (std::string& s : command.next) out->next.push_back(std::move(s));
  out->json = command.json;
  return Status::Ok();
}

Status Dispatch(std::string_view instruction, std::string_view rest, char32_t escape, int depth,
                Args* out) {
  if (instruction == "add" || instruction == "copy" || instruction == "volume") {
    return ParseMaybeJsonToList(rest, out);
  }
  if (instruction == "cmd" || instruction == "entrypoint" || instruction == "run" ||
      instruction == "shell") {
    return ParseMaybeJson(rest, out);
  }
  if (instruction == "env") return ParseNameVal(rest, "ENV", escape, out);
  if (instruction == "label") return ParseNameVal(rest, "LABEL", escape, out);
  if (instruction == "arg") {
    out->next = ParseWords(rest, escape);
    return Status::Ok();
  }
  if (instruction == "expose" || instruction == "from") {
    ParseWhitespaceDelimited(rest, out);
    return Status::Ok();
  }
  if (instruction == "maintainer" || instruction == "stopsignal" || instruction == "user" ||
      instruction == "workdir") {
    if (!rest.empty()) out->next = {std::string(rest)};
    return Status::Ok();
  }
  if (instruction == "healthcheck") return ParseHealthConfig(rest, out);
  if (instruction == "onbuild") {
    if (rest.empty()) return Status::Ok();
    if (depth >= kMaxOnbuildDepth) return InvalidArgument("ONBUILD nested too deeply");
    KILN_ASSIGN_OR_RETURN(Node child, NodeFromLine(rest, escape, depth + 1));
    out->children.push_back(std::move(child));
    return Status::Ok();
  }
  out->next = {""};  // unknown instruction: BuildKit keeps one empty argument
  return Status::Ok();
}

}  // namespace

std::string LowerInstruction(std::string_view word) {
  std::string out;
  out.reserve(word.size());
  for (size_t i = 0; i < word.size();) {
    DecodedRune d = DecodeRune(word, i);
    char32_t r = d.rune;
    if (r >= 'A' && r <= 'Z') {
      r += 'a' - 'A';
    } else if (r == 0x130) {
      r = 'i';
    } else if (r == 0x212A) {
      r = 'k';
    }
    if (r == d.rune) {
      out.append(word.substr(i, d.width));
    } else {
      AppendRune(&out, r);
    }
    i += d.width;
  }
  return out;
}

SplitLine SplitCommand(std::string_view line, char32_t escape) {
  SplitLine out;
  line = TrimSpace(line);
  size_t i = 0;
  while (i < line.size() && !IsSeparator(line[i])) i++;
  out.command = std::string(line.substr(0, i));
  if (i == line.size()) return out;
  while (i < line.size() && IsSeparator(line[i])) i++;
  std::string_view rest = line.substr(i);

  // extractBuilderFlags. BuildKit walks this part byte by byte, taking each byte as a rune:
  // bytes 0x85 and 0xA0 count as blanks, and a non-ASCII byte in a flag is re-encoded as the
  // Latin-1 character it would be ("é" becomes "Ã©"). We keep that, so flags come out the same.
  enum class Phase { kSpaces, kWord, kQuote };
  Phase phase = Phase::kSpaces;
  std::string word;
  char32_t quote = 0;
  bool blank_ok = false;
  std::string_view args;
  for (size_t pos = 0; pos <= rest.size(); pos++) {
    char32_t ch = pos < rest.size() ? static_cast<unsigned char>(rest[pos]) : 0;
    if (phase == Phase::kSpaces) {
      if (pos == rest.size()) break;
      if (IsSpace(ch)) continue;
      if (ch != '-' || pos + 1 == rest.size() || rest[pos + 1] != '-') {
        args = rest.substr(pos);
        break;
      }
      phase = Phase::kWord;
    }
    if (pos == rest.size()) {  // in a word or a quote
      if (word != "--" && (blank_ok || !word.empty())) out.flags.push_back(word);
      break;
    }
    if (phase == Phase::kWord) {
      if (IsSpace(ch)) {
        phase = Phase::kSpaces;
        if (word == "--") {
          args = rest.substr(pos);
          break;
        }
        if (blank_ok || !word.empty()) out.flags.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = Phase::kQuote;
        continue;
      }
    } else if (ch == quote) {  // kQuote
      phase = Phase::kWord;
      continue;
    }
    if (ch == static_cast<char32_t>(escape)) {
      if (pos + 1 == rest.size()) {  // an escape at the very end is dropped
        phase = Phase::kWord;
        continue;
      }
      pos++;
      ch = static_cast<unsigned char>(rest[pos]);
    }
    AppendRune(&word, ch);
  }
  out.args = std::string(TrimSpace(args));
  return out;
}

std::vector<std::string> ParseWords(std::string_view rest, char32_t escape) {
  enum class Phase { kSpaces, kWord, kQuote };
  std::vector<std::string> words;
  Phase phase = Phase::kSpaces;
  char32_t quote = 0;
  bool blank_ok = false;
  std::string word;
  char32_t ch = 0;
  size_t width = 0;
  for (size_t pos = 0; pos <= rest.size(); pos += width) {
    if (pos != rest.size()) {
      DecodedRune d = DecodeRune(rest, pos);
      ch = d.rune;
      width = d.width;
    }
    if (phase == Phase::kSpaces) {
      if (pos == rest.size()) break;
      if (IsSpace(ch)) continue;
      phase = Phase::kWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == Phase::kWord) {
      if (IsSpace(ch)) {
        phase = Phase::kSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = Phase::kQuote;
      }
      if (ch == escape) {
        if (pos + width == rest.size()) continue;  // an escape at the very end is dropped
        AppendRune(&word, ch);
        pos += width;
        DecodedRune d = DecodeRune(rest, pos);
        ch = d.rune;
        width = d.width;
      }
      AppendRune(&word, ch);
      continue;
    }
    // kQuote: the quote is kept; the escape works except in single quotes.
    if (ch == quote) phase = Phase::kWord;
    if (ch == escape && quote != '\'') {
      if (pos + width == rest.size()) {
        phase = Phase::kWord;
        continue;
      }
      pos += width;
      AppendRune(&word, ch);
      DecodedRune d = DecodeRune(rest, pos);
      ch = d.rune;
      width = d.width;
    }
    AppendRune(&word, ch);
  }
  return words;
}

Result<Node> NodeFromLine(std::string_view line, char32_t escape, int depth) {
  SplitLine split = SplitCommand(line, escape);
  Node node;
  node.value = LowerInstruction(split.command);
  node.original = std::string(line);
  node.flags = std::move(split.flags);
  Args args;
  KILN_RETURN_IF_ERROR(Dispatch(node.value, split.args, escape, depth, &args));
  node.next = std::move(args.next);
  node.children = std::move(args.children);
  node.json = args.json;
  return node;
}

}  // namespace kiln::dockerfile::internal
