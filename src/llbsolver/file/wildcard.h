#pragma once
// Wildcard sources of FileActionCopy and FileActionRm (allowWildcard), as fsutil's
// ResolveWildcards: the path is split at its first component that contains '*', '?' or '[';
// the part before is resolved inside the root, and every entry below it whose relative path
// matches the rest (Go filepath.Match rules: '*' and '?' never match '/') is a match. A matching
// directory is not searched further. Stateless, thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln::llbsolver::file {

// True if name has an unescaped '*', '?' or '['.
bool ContainsWildcards(std::string_view name);

// Splits a path into the part before its first wildcard component and the rest:
// "/a/b*/c" -> {"/a", "b*/c"}; without wildcards the rest is empty.
std::pair<std::string, std::string> SplitWildcards(std::string_view path);

// The in-root paths ("/a/x.txt") matching `pattern` (absolute) inside root, in lexical order.
// Without wildcards, {cleaned pattern} whether or not it exists. The directory before the first
// wildcard must exist (its last component is followed when follow_links). Never leaves root.
Result<std::vector<std::string>> ResolveWildcards(const Context& ctx, const std::string& root,
                                                  std::string_view pattern, bool follow_links);

}  // namespace kiln::llbsolver::file
