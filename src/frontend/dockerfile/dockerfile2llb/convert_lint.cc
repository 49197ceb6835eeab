// The converter's side of the build checks: which linter runs, the checks of every stage's FROM,
// and the scope in which expansions report undefined variables.
#include "frontend/dockerfile/dockerfile2llb/converter.h"
#include "frontend/dockerfile/parser/directives.h"

namespace kiln::dockerfile::convert_internal {

Status Converter::SetUpLint() {
  lint::Config config;
  if (opts_.lint_config) {
    config = *opts_.lint_config;
  } else if (auto d = FindDirective(kDirectiveCheck, dockerfile_)) {
    auto parsed = lint::ParseLintOptions(d->value);
    if (!parsed.ok()) {
      return InvalidArgument("failed to parse check options: " + parsed.status().message());
    }
    config = std::move(*parsed);
  }
  lint_ = lint::Linter(std::move(config), opts_.lint_warn);
  lint::CheckParsed(pr_, lint_);
  return Status::Ok();
}

void Converter::CheckFroms() {
  if (!lint_.enabled()) return;
  // InvalidDefaultArgInFrom: base names with the global ARGs' defaults, without build args.
  std::vector<std::string> defaults;
  for (const auto& [k, v] : platform_args_) defaults.push_back(k + "=" + v);
  bool expanded = true;
  for (const Node* n : meta_arg_nodes_) {
    for (const auto& w : n->next) {
      auto word = lex_.ProcessWord(w, defaults);
      if (!word.ok()) {
        expanded = false;  // the conversion reports it
        break;
      }
      if (word->find('=') != std::string::npos) defaults.push_back(*word);
    }
  }
  for (const Stage& s : stages_) {
    if (!expanded || s.from->next.empty()) break;
    auto name = lex_.ProcessWord(s.from->next[0], defaults);
    if (!name.ok()) break;
    lint::CheckDefaultBaseName(*name, *s.from, lint_);
  }

  // The names a FROM may use: the platform ARGs and the global ARGs, declared or set.
  std::set<std::string> known(meta_declared_.begin(), meta_declared_.end());
  for (const auto& [k, v] : platform_args_) known.insert(k);
  for (const auto& [k, v] : meta_args_) known.insert(k);
  known.insert("TARGETSTAGE");
  const std::vector<std::string> env = MetaEnv();
  for (const Stage& s : stages_) {
    const Node& from = *s.from;
    const lint::Linter l = lint_.WithComments(from.prev_comment);
    if (!from.next.empty()) {
      auto m = lex_.ProcessWordWithMatches(from.next[0], env);
      if (m.ok()) lint::CheckFromArgs(m->unmatched, known, from, l);
    }
    auto flags = ParseFlags(from);
    if (!flags.ok()) continue;
    if (auto p = flags->Get("platform")) {
      auto m = lex_.ProcessWordWithMatches(*p, env);
      if (!m.ok()) continue;
      lint::CheckFromArgs(m->unmatched, known, from, l);
      lint::CheckFromPlatform(*p, *m, platform_args_["TARGETPLATFORM"], s.name, from, l);
    }
  }
}

Converter::LintScope::LintScope(Converter& c, Stage* s, const Node* n)
    : c_(c), stage_(c.lint_stage_), node_(c.lint_node_), lint_(c.node_lint_) {
  c.lint_stage_ = s;
  c.lint_node_ = s == nullptr ? nullptr : n;
  c.node_lint_.reset();
  if (c.lint_node_ != nullptr) c.node_lint_ = c.lint_.WithComments(n->prev_comment);
}

Converter::LintScope::~LintScope() {
  c_.lint_stage_ = stage_;
  c_.lint_node_ = node_;
  c_.node_lint_ = lint_;
}

Result<std::string> Converter::Expand(const std::string& w, const std::vector<std::string>& env) {
  if (lint_node_ == nullptr || !lint_.enabled()) return lex_.ProcessWord(w, env);
  KILN_ASSIGN_OR_RETURN(ProcessWordResult r, lex_.ProcessWordWithMatches(w, env));
  lint::CheckUndefinedVars(*lint_node_, r.unmatched, lint_stage_->declared, env, NodeLint());
  return r.result;
}

void Converter::CheckBaseImagePlatform(const Stage& s, const std::string& name) {
  if (!lint_.enabled()) return;
  auto str = [&](const char* k) {
    auto it = s.image.raw().find(k);
    return it != s.image.raw().end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  registry::Platform actual{str("os"), str("architecture"), str("variant"), "", {}};
  if (actual.os.empty() && actual.architecture.empty()) return;  // a config without a platform
  lint::CheckBaseImagePlatform(name, s.platform, actual, *s.from, lint_);
}

const fsutil::PatternMatcher* Converter::IgnoreMatcher() {
  if (!ignore_) {
    auto m = fsutil::PatternMatcher::Create(opts_.context_excludes);
    ignore_ = m.ok() ? std::move(*m) : fsutil::PatternMatcher();
  }
  return ignore_->empty() ? nullptr : &*ignore_;
}

}  // namespace kiln::dockerfile::convert_internal
