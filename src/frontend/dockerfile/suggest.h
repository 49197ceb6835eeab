#pragma once
// "Did you mean ...?" as BuildKit's util/suggest: the closest option within an edit distance of
// 2. Stateless, thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace kiln::dockerfile {

// Levenshtein distance over the UTF-8 runes of a and b (insert, delete, substitute cost 1).
size_t EditDistance(std::string_view a, std::string_view b);

// The option closest to `value` (distance < 3, the first of equals), "" when none is close or
// `value` is one of the options. Case-sensitive.
std::string SuggestFrom(std::string_view value, const std::vector<std::string>& options);

}  // namespace kiln::dockerfile
