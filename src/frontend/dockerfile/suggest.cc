#include "frontend/dockerfile/suggest.h"

#include <algorithm>

#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile {

size_t EditDistance(std::string_view a, std::string_view b) {
  auto runes = [](std::string_view s) {
    std::vector<char32_t> out;
    for (size_t i = 0; i < s.size();) {
      internal::DecodedRune d = internal::DecodeRune(s, i);
      out.push_back(d.rune);
      i += d.width;
    }
    return out;
  };
  std::vector<char32_t> x = runes(a), y = runes(b);
  std::vector<size_t> row(y.size() + 1);
  for (size_t j = 0; j <= y.size(); j++) row[j] = j;
  for (size_t i = 1; i <= x.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= y.size(); j++) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (x[i - 1] == y[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[y.size()];
}

std::string SuggestFrom(std::string_view value, const std::vector<std::string>& options) {
  std::string best;
  size_t best_distance = 3;
  for (const std::string& o : options) {
    if (o == value) return "";
    size_t d = EditDistance(value, o);
    if (d < best_distance) {
      best = o;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace kiln::dockerfile
