#pragma once
// The Dockerfile parser: bytes to a flat list of instruction nodes, as BuildKit's
// frontend/dockerfile/parser.Parse does it (its AST, its line rules, its messages), before any
// variable expansion. What it handles:
//
// - Lines: '\n' or CRLF endings, a UTF-8 BOM, leading blanks, comments (also between
//   continuation lines, where they are skipped), continuation with the active escape character
//   (which also removes the blanks after it), blank continuation lines (skipped, with a warning),
//   lines of at most 65535 bytes.
// - Parser directives at the top (directives.h); `# escape=` changes the escape character.
// - Per-instruction argument forms (BuildKit's dispatch table): JSON exec form for RUN, CMD,
//   ENTRYPOINT, SHELL and the JSON/whitespace list form for ADD, COPY, VOLUME; ENV/LABEL as
//   key/value/separator triples (legacy `ENV key value` too); ARG words; HEALTHCHECK's type word
//   followed by its command; ONBUILD's nested instruction; `--flag` words before the arguments.
// - Heredocs (`<<EOF`, `<<-EOF`, quoted names, several per line, `3<<EOF`) on RUN, COPY and ADD
//   (also under ONBUILD) in their shell form.
//
// Instruction names are case-insensitive. Unlike BuildKit's parser, an unknown instruction is a
// parse error here (BuildKit reports it one stage later, with the same message).
// Stateless functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/dockerfile/parser/directives.h"
#include "util/status.h"

namespace kiln::dockerfile {

// Lines of the Dockerfile, 1-based and inclusive. Becomes a typed error detail later.
struct SourceRange {
  int start = 0;
  int end = 0;
};

struct Heredoc {
  std::string name;              // the terminator word, quotes removed
  std::string content;           // the lines between, byte for byte with their newlines
  bool expand = true;            // false when any part of the name was quoted: <<"EOF", <<'EOF'
  bool chomp = false;            // <<-EOF: the terminator may be tab-indented; see ChompHeredoc
  uint64_t file_descriptor = 0;  // 3<<EOF
};

struct Node {
  std::string value;               // the instruction, lower-cased: "run"
  std::string original;            // the instruction's text, continuation lines joined
  std::vector<std::string> flags;  // "--from=build", quotes and escapes removed
  std::vector<std::string> next;   // arguments, see the header comment
  std::vector<Node> children;      // ONBUILD: the trigger instruction (one node)
  std::vector<Heredoc> heredocs;
  std::vector<std::string> prev_comment;  // comment lines right above the instruction
  bool json = false;                      // the arguments were a JSON array
  int start_line = 0;                     // 1-based; 0 for an ONBUILD trigger
  int end_line = 0;                       // the last line, heredoc bodies included

  SourceRange range() const { return {start_line, end_line}; }
};

struct Warning {
  std::string short_text;  // "Empty continuation line found in: RUN a b"
  std::string detail;
  std::string url;
  SourceRange range;
};

struct ParseResult {
  std::vector<Node> children;         // the instructions in order
  std::vector<Directive> directives;  // the directives this parse recognised
  std::vector<Warning> warnings;
  char escape_token = '\\';
};

// Parses a whole Dockerfile. Errors are InvalidArgument with the line in the message:
// "dockerfile parse error on line 3: unknown instruction: RUNN (did you mean RUN?)"; when
// `error_range` is given it receives the lines the error is about.
Result<ParseResult> Parse(std::string_view dockerfile, SourceRange* error_range = nullptr);

// Removes the leading tabs of every line of a `<<-` heredoc's content (what the build does with
// it; Parse keeps the content as written).
std::string ChompHeredoc(std::string_view content);

// The instruction names BuildKit knows, lower-case.
const std::vector<std::string_view>& KnownInstructions();

}  // namespace kiln::dockerfile
