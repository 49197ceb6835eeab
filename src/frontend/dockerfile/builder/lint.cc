#include "frontend/dockerfile/builder/lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/base64.h"
#include "util/error_details.h"
#include "util/go_json.h"

namespace kiln::dockerfile {

namespace {

using OrderedJson = nlohmann::ordered_json;

// A pb.Location as Go's encoding/json writes it (zero fields left out).
OrderedJson LocationJson(const std::vector<SourceRange>& ranges) {
  OrderedJson loc = OrderedJson::object();
  if (ranges.empty()) return loc;
  OrderedJson rs = OrderedJson::array();
  for (const auto& r : ranges) {
    OrderedJson start = OrderedJson::object(), end = OrderedJson::object();
    if (r.start != 0) start["line"] = r.start;
    if (r.end != 0) end["line"] = r.end;
    rs.push_back(OrderedJson{{"start", start}, {"end", end}});
  }
  loc["ranges"] = rs;
  return loc;
}

SourceLocation ToSourceLocation(const LintSource& src, const std::vector<SourceRange>& ranges) {
  SourceLocation loc{src.filename, src.data, {}};
  for (const auto& r : ranges) loc.ranges.emplace_back(r.start, r.end);
  return loc;
}

}  // namespace

Result<std::optional<lint::Config>> LintConfigFromOptions(
    const std::map<std::string, std::string>& opts) {
  const std::string key = "build-arg:BUILDKIT_DOCKERFILE_CHECK";
  auto it = opts.find(key);
  if (it == opts.end()) return std::optional<lint::Config>();
  auto c = lint::ParseLintOptions(it->second);
  if (!c.ok()) return InvalidArgument("failed to parse " + key + ": " + c.status().message());
  return std::optional<lint::Config>(std::move(*c));
}

lint::WarnFn BridgeWarner(frontend::FrontendLLBBridge& bridge, LintSource source) {
  return [&bridge, source = std::move(source)](const lint::Warning& w) {
    solver::WarningEvent ev;
    ev.vertex = source.vertex;
    ev.level = 1;
    ev.short_msg = fmt::format("{}: {}", w.rule->name, w.message);
    if (!w.location.empty() && w.location[0].start > 0) {
      ev.short_msg += fmt::format(" (line {})", w.location[0].start);
    }
    ev.detail = {std::string(w.rule->description)};
    ev.url = std::string(w.rule->url);
    ev.source = solver::WarningEvent::Source{source.filename, source.data, "Dockerfile"};
    for (const auto& r : w.location) ev.ranges.push_back({{r.start, 0}, {r.end, 0}});
    bridge.Warn(std::move(ev));
  };
}

lint::WarnFn LintResults::Warner() {
  return [this](const lint::Warning& w) { warnings_.push_back({w.rule, w.message, w.location}); };
}

void LintResults::SetError(const Status& st, const SourceRange& where) {
  error_ = std::make_pair(st.message(), where);
}

frontend::SolveResult LintResults::ToResult() const {
  OrderedJson warnings = nullptr;  // Go writes a nil slice as null
  for (const auto& w : warnings_) {
    OrderedJson j;
    j["ruleName"] = std::string(w.rule->name);
    if (!w.rule->description.empty()) j["description"] = std::string(w.rule->description);
    if (!w.rule->url.empty()) j["url"] = std::string(w.rule->url);
    if (!w.detail.empty()) j["detail"] = w.detail;
    j["location"] = LocationJson(w.location);
    warnings.push_back(std::move(j));
  }
  OrderedJson results;
  results["warnings"] = warnings;
  results["sources"] = OrderedJson::array({OrderedJson{{"filename", source_.filename},
                                                       {"data", Base64Encode(source_.data)},
                                                       {"language", "Dockerfile"}}});
  if (error_) {
    std::vector<SourceRange> r;
    if (error_->second.start > 0) r.push_back(error_->second);
    results["buildError"] = OrderedJson{{"message", error_->first}, {"location", LocationJson(r)}};
  }

  // result.txt: the warnings by line (those without lines first), each with its snippet.
  std::vector<const Entry*> sorted;
  for (const auto& w : warnings_) sorted.push_back(&w);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    if (a->location.empty() || b->location.empty()) {
      if (a->location.empty() && b->location.empty()) return a->rule->name < b->rule->name;
      return a->location.empty();
    }
    return a->location[0].start < b->location[0].start;
  });
  std::string txt;
  for (const Entry* w : sorted) {
    txt += fmt::format("\nWARNING: {}", w->rule->name);
    if (!w->rule->url.empty()) txt += fmt::format(" - {}", w->rule->url);
    txt += fmt::format("\n{}\n", w->detail);
    txt += FormatSourceLocation(ToSourceLocation(source_, w->location));
  }

  frontend::SolveResult res;
  res.metadata["result.json"] = EscapeJsonLikeGo(results.dump(2));
  res.metadata["result.txt"] = txt;
  res.metadata["result.statuscode"] = warnings_.empty() && !error_ ? "0" : "1";
  res.metadata["version"] = "1.0.0";
  return res;
}

}  // namespace kiln::dockerfile
