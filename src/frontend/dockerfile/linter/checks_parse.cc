// The checks BuildKit runs while it reads the instructions of the whole file (instructions.Parse
// and the validations after it), before any stage is converted.
#include <algorithm>

#include "frontend/dockerfile/linter/checks.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile::lint {

namespace {

using internal::AsciiLower;
using internal::AsciiUpper;

bool SelfConsistent(const std::string& s) { return s == AsciiLower(s) || s == AsciiUpper(s); }

// InvalidDefinitionDescription: the comment right above FROM ... AS name or ARG should start
// with the name it describes.
void CheckDescription(const Node& n, const std::string& instruction,
                      const std::vector<std::string>& keys, const Linter& lint) {
  if (n.prev_comment.empty() || keys.empty()) return;
  const std::string& last = n.prev_comment.back();
  std::string first = last.substr(0, last.find(' '));
  if (std::find(keys.begin(), keys.end(), first) != keys.end()) return;
  lint.Run(kInvalidDefinitionDescription, {n.range()},
           msg::InvalidDefinitionDescription(instruction, keys.size() > 1 ? "<arg_key>" : keys[0]));
}

void CheckNode(const Node& n, const Linter& outer) {
  const Linter lint = outer.WithComments(n.prev_comment);
  if (n.value == "maintainer") {
    lint.Run(kMaintainerDeprecated, {n.range()}, msg::MaintainerDeprecated());
  } else if (n.value == "from") {
    const std::string from = WrittenName(n);
    if (n.next.size() == 3 && n.next[2] != AsciiLower(n.next[2])) {
      lint.Run(kStageNameCasing, {n.range()}, msg::StageNameCasing(n.next[2]));
    }
    // A FROM of mixed case is ConsistentInstructionCasing's business only.
    if (n.next.size() >= 3 && SelfConsistent(from)) {
      const std::string& as = n.next[1];
      if (as != (from == AsciiLower(from) ? AsciiLower(as) : AsciiUpper(as))) {
        lint.Run(kFromAsCasing, {n.range()}, msg::FromAsCasing(from, as));
      }
    }
    if (n.next.size() == 3) CheckDescription(n, "FROM", {AsciiLower(n.next[2])}, lint);
  } else if (n.value == "arg") {
    std::vector<std::string> keys;
    for (const auto& w : n.next) keys.push_back(w.substr(0, w.find('=')));
    CheckDescription(n, "ARG", keys, lint);
  }
}

}  // namespace

std::string WrittenName(const Node& n) {
  std::string_view o = n.original;
  size_t b = o.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  o = o.substr(b);
  return std::string(o.substr(0, o.find_first_of(" \t\r\n")));
}

void CheckParsed(const ParseResult& pr, const Linter& lint) {
  for (const dockerfile::Warning& w : pr.warnings) {
    lint.Run(kNoEmptyContinuation, {w.range}, msg::NoEmptyContinuation());
  }
  for (const Node& n : pr.children) CheckNode(n, lint);

  // Stage names: reserved words and duplicates.
  std::set<std::string> names;
  for (const Node& n : pr.children) {
    if (n.value != "from" || n.next.size() != 3) continue;
    std::string name = AsciiLower(n.next[2]);
    if (name == "context" || name == "scratch") {
      lint.Run(kReservedStageName, {n.range()}, msg::ReservedStageName(name));
    }
    if (!names.insert(name).second) {
      lint.Run(kDuplicateStageName, {n.range()}, msg::DuplicateStageName(name));
    }
  }

  // Instruction casing against the majority, counting instructions from the first FROM on.
  int lower = 0, upper = 0;
  auto in_stages = std::find_if(pr.children.begin(), pr.children.end(),
                                [](const Node& n) { return n.value == "from"; });
  for (auto it = in_stages; it != pr.children.end(); ++it) {
    std::string name = WrittenName(*it);
    if (!SelfConsistent(name)) continue;
    (name == AsciiLower(name) ? lower : upper)++;
  }
  const bool majority_lower = lower > upper;
  for (auto it = in_stages; it != pr.children.end(); ++it) {
    std::string name = WrittenName(*it);
    if (majority_lower && name != AsciiLower(name)) {
      lint.Run(kConsistentInstructionCasing, {it->range()},
               msg::ConsistentInstructionCasing(name, "lowercase"));
    } else if (!majority_lower && name != AsciiUpper(name)) {
      lint.Run(kConsistentInstructionCasing, {it->range()},
               msg::ConsistentInstructionCasing(name, "uppercase"));
    }
  }
}

}  // namespace kiln::dockerfile::lint
