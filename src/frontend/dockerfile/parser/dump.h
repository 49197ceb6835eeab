#pragma once
// A readable dump of a parse, for golden tests and debugging. Each instruction is one line with
// BuildKit's s-expression for it (Node.Dump: `(copy ["--from=a"] "x" "y")`, ONBUILD as
// `(onbuild (run "x"))`), prefixed with its lines and followed by ` json` for the exec form;
// comments above it, heredocs and warnings follow on their own lines:
//
//   escape \ (the escape character)
//   directive syntax="docker/dockerfile:1" L1
//   L3-5 (run "cat <<EOF")
//     heredoc "EOF": "hello\n"
//   warning L9-9: "Empty continuation line found in: RUN a b"
//
// Strings are quoted as Go's %q does for ASCII (util/go_quote.h). Stateless, thread-safe.

#include <string>

#include "frontend/dockerfile/parser/parser.h"

namespace kiln::dockerfile {

// BuildKit's s-expression of one instruction.
std::string DumpNode(const Node& node);

std::string Dump(const ParseResult& result);

}  // namespace kiln::dockerfile
