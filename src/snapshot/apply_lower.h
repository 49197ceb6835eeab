#pragma once
// What layer apply in overlay mode takes from the lower layers (containerd's mkparent and its
// hardlink handling): directory metadata for directories the layer implies, and copies of files
// that a hardlink of the layer points at. Stateless helpers of apply.cc; thread-compatible.

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "snapshot/in_root.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::snapshot {

struct LowerEntry {
  TreeRoot::Dir dir;  // the lower's directory that holds it
  struct stat st;
};

// The entry dir/base of the most recent lower layer that has that path (lowers most recent
// first), if it is a directory (want_dir) or a non-directory (!want_dir). A whiteout device, a
// non-directory on the way, or an entry of the other kind in a more recent lower hides the
// older ones: then, or when no lower has it, nullopt.
Result<std::optional<LowerEntry>> FindInLowers(const std::vector<TreeRoot>& lowers,
                                               const std::string& dir, const std::string& base,
                                               bool want_dir);

// Gives `name` in dir_fd the owner and xattrs (all but overlayfs' own) of the lower entry.
Status CopyOwnerAndXattrs(const LowerEntry& from, const std::string& base, int dir_fd,
                          const std::string& name);

// Copies the lower non-directory to `name` in dir_fd (content, owner, mode, times, xattrs),
// dropping overlayfs' bookkeeping xattrs (origin, metacopy), which belong to the lower.
Status CopyUp(const Context& ctx, const LowerEntry& from, const std::string& base, int dir_fd,
              const std::string& name);

}  // namespace kiln::snapshot
