// libFuzzer harness for the Dockerfile frontend's parsers: any bytes must parse or fail cleanly,
// never crash, hang or trip a CHECK. The input is parsed as a Dockerfile (then dumped, and every
// argument, flag and heredoc expanded by the shell lexer with both escape characters), and as a
// .dockerignore file. Aborts if a parse breaks its own invariants: lines out of order, or the
// three ShellLex entry points disagreeing on the same word.
// Built for libFuzzer with clang (-DKILN_FUZZ=ON); dockerfile_fuzz_smoke.cc drives the same entry
// point over mutated seeds in every ctest run.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/dockerfile/dockerignore.h"
#include "frontend/dockerfile/parser/dump.h"
#include "frontend/dockerfile/parser/parser.h"
#include "frontend/dockerfile/shell/lex.h"

namespace {

using kiln::dockerfile::Node;
using kiln::dockerfile::ShellLex;
using kiln::dockerfile::ShellLexOptions;

const std::vector<std::string> kEnv = {"A=a b", "B=*/x/*", "EMPTY=", "R=[$0]", "N=1\n2"};

void Expand(const ShellLex& lex, std::string_view word) {
  auto plain = lex.ProcessWord(word, kEnv);
  auto matches = lex.ProcessWordWithMatches(word, kEnv);
  auto words = lex.ProcessWords(word, kEnv);
  if (plain.ok() != matches.ok() || plain.ok() != words.ok()) abort();
  if (plain.ok() && *plain != matches->result) abort();
  if (words.ok() && *words != matches->words) abort();
}

void ExpandNode(const Node& node, const std::vector<ShellLex>& lexers) {
  for (const ShellLex& lex : lexers) {
    for (const std::string& w : node.next) Expand(lex, w);
    for (const std::string& f : node.flags) Expand(lex, f);
    for (const auto& h : node.heredocs) {
      Expand(lex, h.name);
      if (h.expand) Expand(lex, h.content);
    }
  }
  for (const Node& child : node.children) ExpandNode(child, lexers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static const std::vector<ShellLex> kLexers = [] {
    ShellLexOptions raw;
    raw.raw_quotes = true;
    raw.raw_escapes = true;
    raw.skip_unset_env = true;
    return std::vector<ShellLex>{ShellLex('\\'), ShellLex('`'), ShellLex('\\', raw)};
  }();

  kiln::dockerfile::SourceRange range;
  auto parsed = kiln::dockerfile::Parse(input, &range);
  if (parsed.ok()) {
    if (parsed->children.empty()) abort();
    int last = 0;
    for (const Node& n : parsed->children) {
      if (n.start_line <= last || n.end_line < n.start_line) abort();
      last = n.end_line;
      ExpandNode(n, kLexers);
    }
    (void)kiln::dockerfile::Dump(*parsed);
  } else if (range.start < 1 || range.end < range.start) {
    abort();
  }
  (void)kiln::dockerfile::ReadDockerignore(input);
  return 0;
}
