#pragma once
// POSIX path helpers for LLB paths and for resolving paths inside a snapshot root without
// escaping it (symlinks are resolved as if the root were "/"). Stateless, thread-safe.

#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln {

// Lexical clean as Go's path.Clean: "a//b/../c/" -> "a/c", "" -> ".", "/.." -> "/".
std::string CleanPath(std::string_view p);

// Joins p (absolute or relative, interpreted relative to "/") onto root after cleaning it so
// that ".." cannot climb above root. No symlinks are followed.
std::string JoinUnder(std::string_view root, std::string_view p);

// Resolves p inside root, following symlinks in every component (the last one too when
// follow_last), each link resolved relative to root. The result is a host path under root.
// Missing components are fine: the rest of the path is appended lexically.
Result<std::string> ResolveInRoot(std::string_view root, std::string_view p, bool follow_last);

// True if `name` (already cleaned, relative) stays inside: not absolute, no ".." component.
bool IsLocalPath(std::string_view name);

// Directory and base name of a cleaned path ("/a/b" -> "/a", "b").
std::string_view Dir(std::string_view p);
std::string_view Base(std::string_view p);

}  // namespace kiln
