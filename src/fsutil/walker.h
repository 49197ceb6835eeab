#pragma once
// Walks a host directory and produces the fsutil STAT listing in protocol order: depth-first,
// names sorted byte-wise within each directory, a directory before its children, the root itself
// skipped, paths relative with '/'. Filtering follows fsutil's FilterFS: include patterns,
// exclude patterns with '!' exceptions, and follow paths (only those paths, with symlinks along
// them followed, are included). A directory that is filtered out but holds included entries is
// listed just before its first included entry.
//
// Hardlinks: the second and later paths (in walk order) of a regular-file inode get
// linkname = the first path and size 0. Socket entries lose their socket bit (as upstream).
// Stateless free function; thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fsutil/packet_stream.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::fsutil {

struct WalkOptions {
  std::vector<std::string> include_patterns;
  std::vector<std::string> exclude_patterns;
  std::vector<std::string> follow_paths;
  // Reported owner instead of the files' own (buildctl sends 0/0).
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

// Called once per entry; a non-OK status stops the walk and is returned.
using WalkFn = std::function<Status(Stat stat)>;

// `root` must be a directory (symlinks to it are resolved first). Checks ctx between entries.
Status Walk(const Context& ctx, const std::string& root, const WalkOptions& opts, const WalkFn& fn);

// The host directory Walk lists: `root` with symlinks resolved.
Result<std::string> ResolveWalkRoot(const std::string& root);

}  // namespace kiln::fsutil
