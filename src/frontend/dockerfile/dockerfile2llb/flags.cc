#include "frontend/dockerfile/dockerfile2llb/flags.h"

#include <algorithm>
#include <cmath>

#include "frontend/dockerfile/suggest.h"

namespace kiln::dockerfile {

Result<Flags> Flags::Parse(const std::vector<std::string>& words,
                           const std::set<std::string>& strings, const std::set<std::string>& bools,
                           const std::set<std::string>& lists) {
  Flags f;
  for (const auto& w : words) {
    if (w == "--") break;
    if (w.rfind("--", 0) != 0) return InvalidArgument("arg should start with -- : " + w);
    std::string body = w.substr(2);
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    bool known = strings.count(name) + bools.count(name) + lists.count(name) != 0;
    if (known && lists.count(name) == 0 &&
        (f.values_.count(name) != 0 || f.bools_.count(name) != 0)) {
      return InvalidArgument("duplicate flag specified: --" + name);
    }
    if (strings.count(name) != 0 || lists.count(name) != 0) {
      if (eq == std::string::npos) return InvalidArgument("missing a value on flag: --" + name);
      f.values_[name].push_back(body.substr(eq + 1));
    } else if (bools.count(name) != 0) {
      std::string v = eq == std::string::npos ? "true" : body.substr(eq + 1);
      if (v != "true" && v != "false") {
        return InvalidArgument("expecting boolean value for flag " + name + ", not: " + v);
      }
      f.bools_[name] = v == "true";
    } else {
      std::vector<std::string> all(strings.begin(), strings.end());
      all.insert(all.end(), bools.begin(), bools.end());
      all.insert(all.end(), lists.begin(), lists.end());
      std::sort(all.begin(), all.end());
      std::string message = "unknown flag: --" + name;
      if (std::string s = SuggestFrom(name, all); !s.empty())
        message += " (did you mean " + s + "?)";
      return InvalidArgument(message);
    }
  }
  return f;
}

std::optional<std::string> Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Flags::All(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<bool> Flags::BoolIfGiven(const std::string& name) const {
  auto it = bools_.find(name);
  if (it == bools_.end()) return std::nullopt;
  return it->second;
}

bool Flags::Bool(const std::string& name) const {
  auto it = bools_.find(name);
  return it != bools_.end() && it->second;
}

Result<int64_t> ParseGoDuration(const std::string& s) {
  if (s.empty()) return InvalidArgument("invalid duration \"\"");
  if (s == "0") return int64_t{0};
  size_t i = 0;
  double total = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  bool any = false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) != 0 || s[i] == '.')) i++;
    if (start == i) return InvalidArgument("invalid duration \"" + s + "\"");
    double num = std::strtod(s.substr(start, i - start).c_str(), nullptr);
    size_t ustart = i;
    while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) == 0 && s[i] != '.')) i++;
    std::string unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") {
      mult = 1e3;
    } else if (unit == "ms") {
      mult = 1e6;
    } else if (unit == "s") {
      mult = 1e9;
    } else if (unit == "m") {
      mult = 60e9;
    } else if (unit == "h") {
      mult = 3600e9;
    } else if (unit.empty()) {
      return InvalidArgument("missing unit in duration \"" + s + "\"");
    } else {
      return InvalidArgument("unknown unit \"" + unit + "\" in duration \"" + s + "\"");
    }
    total += num * mult;
    any = true;
  }
  if (!any || total > 9.2e18) return InvalidArgument("invalid duration \"" + s + "\"");
  auto ns = static_cast<int64_t>(std::llround(total));
  return neg ? -ns : ns;
}

}  // namespace kiln::dockerfile
