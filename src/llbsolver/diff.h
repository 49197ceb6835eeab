#pragma once
// Computing the difference between two trees on disk (BuildKit's double-walking differ, in
// small): entries of upper that are new or differ from lower in type, mode, ownership, size,
// mtime, link target, xattrs or content are copied out; entries of lower missing from upper
// become whiteouts (topmost deleted path only).

#include <string>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln::llbsolver {

// Copies the changed entries of `upper` (with their parent directories) into `out` and returns
// the deleted paths (absolute, "/a/b").
Result<std::vector<std::string>> WriteDiff(const Context& ctx, const std::string& lower,
                                           const std::string& upper, const std::string& out);

}  // namespace kiln::llbsolver
