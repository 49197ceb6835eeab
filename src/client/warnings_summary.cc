#include "client/warnings_summary.h"

#include <fmt/format.h>

#include "util/error_details.h"

namespace kiln::client {

void WarningsSummary::Add(const moby::buildkit::v1::StatusResponse& resp) {
  if (resp.warnings_size() == 0) return;
  std::lock_guard<std::mutex> l(mu_);
  warnings_.insert(warnings_.end(), resp.warnings().begin(), resp.warnings().end());
}

std::string WarningsSummary::Format() const {
  std::lock_guard<std::mutex> l(mu_);
  if (warnings_.empty()) return "";
  std::string out = warnings_.size() == 1
                        ? "\n 1 warning found:\n"
                        : fmt::format("\n {} warnings found:\n", warnings_.size());
  for (const auto& w : warnings_) {
    out += fmt::format(" - {}\n", w.short_());
    for (const auto& d : w.detail()) out += d + "\n";
    if (!w.url().empty()) out += fmt::format("More info: {}\n", w.url());
    if (w.has_info() && w.ranges_size() > 0) {
      SourceLocation src{w.info().filename(), w.info().data(), {}};
      for (const auto& r : w.ranges()) src.ranges.emplace_back(r.start().line(), r.end().line());
      out += FormatSourceLocation(src);
    }
    out += "\n";
  }
  return out;
}

}  // namespace kiln::client
