#pragma once
// Follow paths, as fsutil's FollowLinks resolves them: each path is walked component by
// component from the root; a symlink along the way is kept and its target (relative to the root)
// is followed in turn. Wildcards in a component match directory entries. The result is a sorted
// list of root-relative paths with nested entries removed, to be used as include patterns.
// Stateless, thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace kiln::fsutil::internal {

// std::nullopt means "the whole tree" (a path resolved to the root itself).
Result<std::optional<std::vector<std::string>>> FollowLinks(const std::string& root,
                                                            const std::vector<std::string>& paths);

// fsutil's dedupePaths: drops entries under the previous kept entry ("a", "a/b" -> "a").
// std::nullopt if any entry is "." (no filtering).
std::optional<std::vector<std::string>> DedupePaths(const std::vector<std::string>& in);

}  // namespace kiln::fsutil::internal
