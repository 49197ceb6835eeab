#include "frontend/dockerfile/linter/linter.h"

#include <algorithm>

#include "frontend/dockerfile/parser/directives.h"
#include "frontend/dockerfile/unicode.h"
#include "util/go_quote.h"
#include "util/go_strconv.h"

namespace kiln::dockerfile::lint {

namespace {

using internal::TrimSpace;

// "a, b,c" -> {"a", "b", "c"}; "all" sets `all` instead.
void RuleList(std::string_view v, bool* all, std::set<std::string>* rules) {
  v = TrimSpace(v);
  if (v == "all") {
    *all = true;
    return;
  }
  size_t start = 0;
  while (true) {
    size_t comma = v.find(',', start);
    rules->insert(std::string(TrimSpace(v.substr(start, comma - start))));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

}  // namespace

Result<Config> ParseLintOptions(std::string_view value) {
  Config c;
  value = TrimSpace(value);
  if (value.empty()) return c;
  // strings.SplitN(value, ";", 3): the third part keeps any further ';'.
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() < 2) {
    size_t semi = value.find(';', start);
    if (semi == std::string_view::npos) break;
    parts.push_back(value.substr(start, semi - start));
    start = semi + 1;
  }
  parts.push_back(value.substr(start));
  for (std::string_view p : parts) {
    size_t eq = p.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument("invalid check option " + GoQuote(p));
    }
    std::string_view k = TrimSpace(p.substr(0, eq)), v = p.substr(eq + 1);
    if (k == "skip") {
      RuleList(v, &c.skip_all, &c.skip);
    } else if (k == "experimental") {
      RuleList(v, &c.experimental_all, &c.experimental);
    } else if (k == "error") {
      auto b = GoParseBool(std::string(TrimSpace(v)));
      if (!b.ok()) {
        return InvalidArgument("failed to parse check option " + GoQuote(p) + ": " +
                               b.status().message());
      }
      c.error = *b;
    } else {
      return InvalidArgument("invalid check option " + GoQuote(k));
    }
  }
  return c;
}

Linter::Linter(Config config, WarnFn warn) : config_(std::move(config)), warn_(std::move(warn)) {}

void Linter::Run(const Rule& rule, std::vector<SourceRange> location, std::string message) const {
  if (!warn_ || rule.deprecated) return;
  const std::string name(rule.name);
  if (rule.experimental) {
    if (!config_.experimental_all && !config_.experimental.contains(name)) return;
  } else if (config_.skip_all || config_.skip.contains(name)) {
    return;
  }
  called_->push_back(name);
  if (message.empty()) message = std::string(rule.description);
  warn_(Warning{&rule, std::move(message), std::move(location)});
}

Linter Linter::WithComments(const std::vector<std::string>& comments) const {
  for (const std::string& comment : comments) {
    DirectiveParser p("");
    auto d = p.ParseLine(comment);
    if (!d.ok() || !d->has_value() || (*d)->name != kDirectiveCheck) continue;
    std::string_view v = (*d)->value;
    auto other = ParseLintOptions(v.substr(0, v.find(' ')));
    if (!other.ok()) return *this;
    Linter merged = *this;
    Config& c = merged.config_;
    c.experimental_all |= other->experimental_all;
    c.experimental.insert(other->experimental.begin(), other->experimental.end());
    c.skip_all |= other->skip_all;
    c.skip.insert(other->skip.begin(), other->skip.end());
    return merged;
  }
  return *this;
}

Status Linter::Error() const {
  if (!config_.error || called_->empty()) return Status::Ok();
  std::vector<std::string> unique;
  for (const auto& r : *called_) {
    if (std::find(unique.begin(), unique.end(), r) == unique.end()) unique.push_back(r);
  }
  std::string list;
  for (const auto& r : unique) list += (list.empty() ? "" : ", ") + r;
  return InvalidArgument("lint violation found for rules: " + list);
}

}  // namespace kiln::dockerfile::lint
