#include "cache/usage_filter.h"

#include <set>

namespace kiln::cache {

namespace {

const std::set<std::string>& Fields() {
  static const std::set<std::string> k = {"id", "parent", "parents", "description", "type",
                                          "inuse", "mutable", "immutable", "shared", "private"};
  return k;
}

std::string Trim(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::string Field(const UsageInfo& u, const std::string& f) {
  if (f == "id") return u.rec.id;
  if (f == "parent" || f == "parents") return u.rec.parent;
  if (f == "description") return u.rec.description;
  if (f == "type") return u.rec.record_type;
  if (f == "inuse") return u.in_use ? "true" : "false";
  if (f == "mutable") return u.mutable_ ? "true" : "false";
  if (f == "immutable") return u.mutable_ ? "false" : "true";
  if (f == "shared") return u.shared ? "true" : "false";
  if (f == "private") return u.shared ? "false" : "true";
  return "";
}

}  // namespace

Result<std::shared_ptr<const UsageFilter>> UsageFilter::Parse(const std::vector<std::string>& filters) {
  auto f = std::make_shared<UsageFilter>();
  for (const auto& raw : filters) {
    std::vector<Cond> all;
    size_t start = 0;
    while (start <= raw.size()) {
      size_t comma = raw.find(',', start);
      if (comma == std::string::npos) comma = raw.size();
      std::string part = Trim(raw.substr(start, comma - start));
      start = comma + 1;
      if (part.empty()) continue;
      Cond c;
      size_t op = part.find_first_of("=!~");
      if (op == std::string::npos) {
        c.field = part;
      } else {
        c.field = Trim(part.substr(0, op));
        c.op = part.substr(op, 2);
        if (c.op != "==" && c.op != "!=" && c.op != "~=") {
          return InvalidArgument("filter \"" + raw + "\": unknown operator in \"" + part +
                                 "\" (use ==, != or ~=)");
        }
        c.value = Trim(part.substr(op + 2));
      }
      if (!Fields().count(c.field)) {
        return InvalidArgument("filter \"" + raw + "\": unknown field \"" + c.field + "\"");
      }
      all.push_back(std::move(c));
    }
    if (!all.empty()) f->any_.push_back(std::move(all));
  }
  return std::shared_ptr<const UsageFilter>(std::move(f));
}

bool UsageFilter::Match(const UsageInfo& u) const {
  if (any_.empty()) return true;
  for (const auto& all : any_) {
    bool ok = true;
    for (const auto& c : all) {
      std::string v = Field(u, c.field);
      if (c.op.empty()) {
        ok = v == "true" || (!v.empty() && v != "false");
      } else if (c.op == "==") {
        ok = v == c.value;
      } else if (c.op == "!=") {
        ok = v != c.value;
      } else {
        ok = v.find(c.value) != std::string::npos;
      }
      if (!ok) break;
    }
    if (ok) return true;
  }
  return false;
}

}  // namespace kiln::cache
