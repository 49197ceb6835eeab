#include "util/error_details.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/base64.h"

namespace kiln {

using Json = nlohmann::json;

std::vector<TypedDetail> EncodeErrorDetails(const ErrorDetails& d) {
  std::vector<TypedDetail> out;
  for (const auto& src : d.sources) {
    Json ranges = Json::array();
    for (const auto& [start, end] : src.ranges) {
      ranges.push_back({{"start", {{"line", start}}}, {"end", {{"line", end}}}});
    }
    Json j = {{"info", {{"filename", src.filename}, {"data", Base64Encode(src.data)}}},
              {"ranges", ranges}};
    out.push_back({std::string(kSourceDetailURL), j.dump()});
  }
  if (!d.vertex.empty()) {
    out.push_back({std::string(kVertexDetailURL), Json{{"digest", d.vertex}}.dump()});
  }
  return out;
}

namespace {

int LineOf(const Json& pos) {
  if (!pos.is_object()) return 0;
  auto it = pos.find("line");
  return it != pos.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

void DecodeErrorDetail(std::string_view type_url, std::string_view value, ErrorDetails* d) {
  Json j = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  if (type_url == kVertexDetailURL) {
    auto it = j.find("digest");
    if (it != j.end() && it->is_string()) d->vertex = it->get<std::string>();
    return;
  }
  if (type_url != kSourceDetailURL) return;
  SourceLocation src;
  auto info = j.find("info");
  if (info == j.end() || !info->is_object()) return;
  if (auto f = info->find("filename"); f != info->end() && f->is_string())
    src.filename = f->get<std::string>();
  if (auto data = info->find("data"); data != info->end() && data->is_string()) {
    auto raw = Base64Decode(data->get<std::string>());
    if (!raw) return;
    src.data = std::move(*raw);
  }
  auto ranges = j.find("ranges");
  if (ranges != j.end() && ranges->is_array()) {
    for (const auto& r : *ranges) {
      if (!r.is_object()) continue;
      int start = LineOf(r.value("start", Json()));
      int end = LineOf(r.value("end", Json()));
      src.ranges.emplace_back(start, end);
    }
  }
  d->sources.push_back(std::move(src));
}

std::string FormatSourceLocation(const SourceLocation& src) {
  if (src.ranges.empty()) return "";
  std::vector<std::string> lines;
  size_t pos = 0;
  while (true) {
    size_t nl = src.data.find('\n', pos);
    lines.push_back(src.data.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  int start = 0, end = 0;
  bool first = true;
  for (const auto& [s, e] : src.ranges) {
    int last = std::max(s, e);
    if (first || s < start) start = s;
    if (last > end) end = last;
    first = false;
  }
  const int n = static_cast<int>(lines.size());
  if (start > n || start < 1) return "";
  if (end > n) end = n;
  int pad = end == start ? 4 : 2;
  int prepad_start = start;
  for (int p = 0; p < pad;) {
    if (start > 1) {
      start--;
      p++;
    }
    if (end != n) {
      end++;
      p++;
    }
    p++;
  }
  auto marked = [&](int l) {
    for (const auto& [s, e] : src.ranges) {
      if (s <= l && std::max(s, e) >= l) return true;
    }
    return false;
  };
  std::string out = fmt::format("{}:{}\n--------------------\n", src.filename, prepad_start);
  for (int i = start; i <= end; i++) {
    out += fmt::format(" {:>3} | {} {}\n", i, marked(i) ? ">>>" : "   ",
                       lines[static_cast<size_t>(i - 1)]);
  }
  out += "--------------------\n";
  return out;
}

}  // namespace kiln
