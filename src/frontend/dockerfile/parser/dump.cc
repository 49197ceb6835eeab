#include "frontend/dockerfile/parser/dump.h"

#include <fmt/format.h>

#include "util/go_quote.h"

namespace kiln::dockerfile {

namespace {

void AppendInner(std::string* out, const Node& node) {
  out->append(node.value);
  if (!node.flags.empty()) {
    out->append(" [");
    for (size_t i = 0; i < node.flags.size(); i++) {
      if (i > 0) out->push_back(' ');
      out->append(GoQuote(node.flags[i]));
    }
    out->push_back(']');
  }
  for (const Node& child : node.children) {
    out->append(" (");
    AppendInner(out, child);
    out->push_back(')');
  }
  for (const std::string& arg : node.next) {
    out->push_back(' ');
    out->append(GoQuote(arg));
  }
}

}  // namespace

std::string DumpNode(const Node& node) {
  std::string out = "(";
  AppendInner(&out, node);
  out.push_back(')');
  return out;
}

std::string Dump(const ParseResult& result) {
  std::string out = fmt::format("escape {}\n", result.escape_token);
  for (const Directive& d : result.directives) {
    out += fmt::format("directive {}={} L{}\n", d.name, GoQuote(d.value), d.line);
  }
  for (const Node& node : result.children) {
    out += fmt::format("L{}-{} {}", node.start_line, node.end_line, DumpNode(node));
    if (node.json) out += " json";
    if (!node.children.empty() && node.children[0].json) out += " trigger-json";
    out += '\n';
    for (const std::string& c : node.prev_comment) out += fmt::format("  # {}\n", GoQuote(c));
    for (const Heredoc& h : node.heredocs) {
      out += "  heredoc " + GoQuote(h.name);
      if (h.file_descriptor != 0) out += fmt::format(" fd={}", h.file_descriptor);
      if (!h.expand) out += " noexpand";
      if (h.chomp) out += " chomp";
      out += ": " + GoQuote(h.content) + "\n";
    }
  }
  for (const Warning& w : result.warnings) {
    out += fmt::format("warning L{}-{}: {}\n", w.range.start, w.range.end, GoQuote(w.short_text));
  }
  return out;
}

}  // namespace kiln::dockerfile
