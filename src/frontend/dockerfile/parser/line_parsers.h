#pragma once
// One logical line (continuations joined) to a Node: the instruction word, its `--flags`, and
// the arguments in the form BuildKit's dispatch table gives each instruction
// (frontend/dockerfile/parser/line_parsers.go, split_command.go). Internal to kiln::dockerfile.
// Stateless, thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "frontend/dockerfile/parser/parser.h"
#include "util/status.h"

namespace kiln::dockerfile::internal {

struct SplitLine {
  std::string command;             // as written: "RUN"
  std::vector<std::string> flags;  // leading `--name=value` words, unquoted
  std::string args;                // the rest, trimmed
};

// splitCommand + extractBuilderFlags.
SplitLine SplitCommand(std::string_view line, char32_t escape);

// parseWords: blank-separated words; quotes and escapes are kept in the words.
std::vector<std::string> ParseWords(std::string_view rest, char32_t escape);

// ONBUILD nesting deeper than this is an error (BuildKit has no limit, but rejects any ONBUILD
// under ONBUILD later; the limit keeps recursion shallow on hostile input).
inline constexpr int kMaxOnbuildDepth = 16;

// newNodeFromLine: value (lower-cased), original, flags, next, children, json. Errors are
// BuildKit's messages without a line ("ENV must have two arguments").
Result<Node> NodeFromLine(std::string_view line, char32_t escape, int depth = 0);

// strings.ToLower for instruction words (ASCII, plus the two non-ASCII letters Go lowers to
// ASCII: U+0130 -> i, U+212A -> k).
std::string LowerInstruction(std::string_view word);

}  // namespace kiln::dockerfile::internal
