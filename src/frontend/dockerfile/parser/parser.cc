#include "frontend/dockerfile/parser/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "frontend/dockerfile/parser/heredoc.h"
#include "frontend/dockerfile/parser/line_parsers.h"
#include "frontend/dockerfile/parser/lines.h"
#include "frontend/dockerfile/suggest.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile {

namespace {

using internal::TrimLeftSpace;
using internal::TrimNewline;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kEmptyContinuationUrl =
    "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/";

bool IsComment(std::string_view line) {
  line = TrimLeftSpace(line);
  return !line.empty() && line[0] == '#';
}

// BuildKit's line-continuation regexp `([^E])E[ \t]*$|^E[ \t]*$` for escape E: a trailing escape
// (not itself escaped) and the blanks after it are removed, and the line continues.
std::pair<std::string_view, bool> TrimContinuation(std::string_view line, char32_t escape) {
  size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) end--;
  if (end == 0 || static_cast<unsigned char>(line[end - 1]) != escape) return {line, true};
  if (end >= 2 && static_cast<unsigned char>(line[end - 2]) == escape) return {line, true};
  return {line.substr(0, end - 1), false};
}

// BuildKit's suggest.Search over the instruction names, case-insensitive: the closest name
// within distance 2, in the case the user wrote (all lower, all upper, else lower).
std::string Suggest(std::string_view written) {
  std::string lower = internal::LowerInstruction(written);
  std::string best;
  size_t best_distance = 3;
  for (std::string_view name : KnownInstructions()) {
    size_t d = EditDistance(lower, name);
    if (d < best_distance) {
      best = std::string(name);
      best_distance = d;
    }
  }
  if (best.empty()) return best;
  bool has_lower =
      std::any_of(written.begin(), written.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (lower != written && !has_lower) {
    for (char& c : best) c = static_cast<char>(c - 'a' + 'A');
  }
  return best;
}

class Parser {
 public:
  explicit Parser(std::string_view text, SourceRange* error_range)
      : scanner_(text), error_range_(error_range) {}

  Result<ParseResult> Run();

 private:
  Status Fail(std::string_view message, int start, int end) {
    end = std::max(start, end);
    if (error_range_ != nullptr) *error_range_ = {start, end};
    return InvalidArgument(fmt::format("dockerfile parse error on line {}: {}", start, message));
  }
  // Directive handling for the first line of an instruction; true if the line was one.
  Result<bool> HandleDirective(std::string_view line);
  Status ReadHeredocs(Node* node, int start);

  internal::LineScanner scanner_;
  SourceRange* error_range_;
  DirectiveParser directives_;
  ParseResult result_;
  char32_t escape_ = '\\';
  int current_ = 0;
};

Result<bool> Parser::HandleDirective(std::string_view line) {
  KILN_ASSIGN_OR_RETURN(std::optional<Directive> d, directives_.ParseLine(line));
  if (!d) return false;
  if (d->name == kDirectiveEscape) {
    KILN_ASSIGN_OR_RETURN(char token, EscapeTokenFromDirective(d->value));
    escape_ = static_cast<unsigned char>(token);
    result_.escape_token = token;
  }
  result_.directives.push_back(std::move(*d));
  return true;
}

Status Parser::ReadHeredocs(Node* node, int start) {
  auto heredocs = internal::HeredocsFromLine(node->original);
  if (!heredocs.ok()) return Fail(heredocs.status().message(), start, current_);
  for (Heredoc& h : *heredocs) {
    bool terminated = false;
    std::string_view raw;
    while (scanner_.Next(&raw)) {
      current_++;
      std::string_view candidate = TrimNewline(raw);
      if (h.chomp) {
        candidate.remove_prefix(std::min(candidate.find_first_not_of('\t'), candidate.size()));
      }
      if (candidate == h.name) {
        terminated = true;
        break;
      }
      h.content.append(raw);
    }
    if (!terminated) return Fail("unterminated heredoc", start, current_);
    node->heredocs.push_back(std::move(h));
  }
  return Status::Ok();
}

Result<ParseResult> Parser::Run() {
  std::vector<std::string> comments;
  std::string_view raw;
  while (scanner_.Next(&raw)) {
    if (current_ == 0 && raw.substr(0, kBom.size()) == kBom) raw.remove_prefix(kBom.size());
    if (IsComment(raw)) {
      std::string comment(internal::TrimSpace(raw.substr(1)));
      if (comment.empty()) {
        comments.clear();
      } else {
        comments.push_back(std::move(comment));
      }
    }
    std::string_view line = TrimLeftSpace(TrimNewline(raw));
    Result<bool> directive = HandleDirective(line);
    if (!directive.ok()) return Fail(directive.status().message(), current_ + 1, current_ + 1);
    if (*directive && !comments.empty()) comments.pop_back();
    if (IsComment(line)) line = {};
    current_++;

    const int start = current_;
    auto [text, end_of_line] = TrimContinuation(line, escape_);
    if (end_of_line && text.empty()) continue;
    std::string joined(text);
    bool empty_continuation = false;
    while (!end_of_line && scanner_.Next(&raw)) {
      current_++;
      std::string_view part = TrimNewline(raw);
      if (IsComment(part)) continue;  // comments between continuation lines are dropped
      if (TrimLeftSpace(part).empty()) {
        empty_continuation = true;
        continue;
      }
      std::tie(text, end_of_line) = TrimContinuation(part, escape_);
      joined.append(text);
    }
    if (empty_continuation) {
      result_.warnings.push_back(Warning{"Empty continuation line found in: " + joined,
                                         "Empty continuation lines will become errors in a "
                                         "future release",
                                         std::string(kEmptyContinuationUrl),
                                         {current_, current_}});
    }

    Result<Node> node = internal::NodeFromLine(joined, escape_);
    if (!node.ok()) return Fail(node.status().message(), start, current_);
    if (internal::CanContainHeredoc(*node) && joined.find("<<") != std::string::npos) {
      KILN_RETURN_IF_ERROR(ReadHeredocs(&*node, start));
    }
    node->start_line = start;
    node->end_line = current_;
    node->prev_comment = std::move(comments);
    comments.clear();
    result_.children.push_back(std::move(*node));
  }

  if (result_.children.empty()) {
    return Fail("file with no instructions", std::max(current_, 1), 0);
  }
  if (scanner_.too_long()) {
    return Fail(
        fmt::format("dockerfile line greater than max allowed size of {}", internal::kMaxLineSize),
        current_ + 1, 0);
  }
  // BuildKit's parser accepts any word and its next stage rejects it; we do both here, after the
  // whole file parsed, so the first error reported is the same.
  const auto& known = KnownInstructions();
  for (const Node& n : result_.children) {
    if (std::find(known.begin(), known.end(), n.value) != known.end()) continue;
    std::string written = internal::SplitCommand(n.original, escape_).command;
    std::string message = "unknown instruction: " + written;
    if (std::string s = Suggest(written); !s.empty()) message += " (did you mean " + s + "?)";
    return Fail(message, n.start_line, n.end_line);
  }
  return std::move(result_);
}

}  // namespace

const std::vector<std::string_view>& KnownInstructions() {
  static const std::vector<std::string_view> kNames = {
      "add",    "arg",   "cmd",         "copy",  "entrypoint", "env",
      "expose", "from",  "healthcheck", "label", "maintainer", "onbuild",
      "run",    "shell", "stopsignal",  "user",  "volume",     "workdir"};
  return kNames;
}

Result<ParseResult> Parse(std::string_view dockerfile, SourceRange* error_range) {
  return Parser(dockerfile, error_range).Run();
}

std::string ChompHeredoc(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out.push_back(c);
  }
  return out;
}

}  // namespace kiln::dockerfile
