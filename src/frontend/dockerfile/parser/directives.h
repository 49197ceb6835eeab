#pragma once
// Parser directives: `# syntax=...`, `# escape=...` and `# check=...` comment lines at the very top
// of a Dockerfile, as BuildKit reads them (frontend/dockerfile/parser/directives.go):
//
// - A directive is `<comment prefix> key = value`; keys are case-insensitive, the value is trimmed.
// - Directives end at the first line that is not one: a blank line, an instruction, any other
//   comment, or a comment with an unknown key. Later `# escape=` lines are plain comments.
// - The same directive twice is an error ("only one escape parser directive can be used").
//
// Parse() feeds its lines to a DirectiveParser itself (a `#!` line ends the directives there);
// DetectSyntax and FindDirective are the frontend's look-ups, which skip a UTF-8 BOM and a `#!`
// first line, and (for syntax) also accept `// syntax=` lines and a JSON `{"syntax": ...}` file.
//
// DirectiveParser is a single-use, thread-compatible value; the functions are thread-safe.

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln::dockerfile {

inline constexpr std::string_view kDirectiveSyntax = "syntax";
inline constexpr std::string_view kDirectiveEscape = "escape";
inline constexpr std::string_view kDirectiveCheck = "check";

struct Directive {
  std::string name;   // lower-cased key: syntax, escape or check
  std::string value;  // as written, trimmed
  int line = 0;       // 1-based
};

class DirectiveParser {
 public:
  // `first_line` is the number of lines already consumed before the first ParseLine (1 after a
  // skipped `#!` line).
  explicit DirectiveParser(std::string_view comment_prefix = "#", int first_line = 0)
      : prefix_(comment_prefix), line_(first_line) {}

  // Feeds the next line (without its newline). Returns the directive on it, or nullopt when it
  // is not one (from the first such line on, every line is nullopt). A repeated key is an error.
  Result<std::optional<Directive>> ParseLine(std::string_view line);

  bool done() const { return done_; }

 private:
  std::string prefix_;
  int line_ = 0;
  bool done_ = false;
  std::set<std::string> seen_;
};

// The escape character an `escape` directive selects: '\\' or '`'; anything else fails with
// "invalid escape token 'x' does not match ` or \".
Result<char> EscapeTokenFromDirective(std::string_view value);

struct FoundDirective {
  std::string value;    // up to the first space: "docker/dockerfile:1"
  std::string cmdline;  // the whole value: "docker/dockerfile:1 // opts"
  int line = 0;         // 1-based; 0 (or 1 after a `#!` line) for the JSON form
};

// The `syntax` directive of a Dockerfile, in any of the three forms (BuildKit's DetectSyntax).
std::optional<FoundDirective> DetectSyntax(std::string_view dockerfile);

// A `# key=value` directive (BuildKit's ParseDirective; used for `check`).
std::optional<FoundDirective> FindDirective(std::string_view key, std::string_view dockerfile);

}  // namespace kiln::dockerfile
