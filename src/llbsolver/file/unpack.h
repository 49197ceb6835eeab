#pragma once
// ADD's archive auto-extraction (FileActionCopy.attemptUnpackDockerCompatibility): a regular
// source file that is a tar archive, plain or compressed with gzip, bzip2, xz or zstd, is
// extracted into the destination directory instead of being copied, as BuildKit does with
// moby's chrootarchive. Extraction is confined to the destination as if it were "/": entry
// names are cleaned ("../x" is refused, "/etc/x" lands in dest/etc/x), and symlinks met on the
// way, including ones the archive just created, resolve inside it.
// Stateless, thread-safe as long as callers do not extract onto the same paths at once.

#include <optional>
#include <string>

#include "llbsolver/file/user.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::llbsolver::file {

// True when `path` (host path) is a regular file holding a tar archive with at least one
// entry. Never follows a symlink at path.
bool IsTarArchive(const std::string& path);

// Extracts the archive at host path `archive` into the existing directory `dest_dir`. Entries
// keep their mode, times, xattrs (best effort) and numeric uid/gid, or get `owner` when given.
// An existing entry in the way is replaced, except that directories are merged.
Status Untar(const Context& ctx, const std::string& archive, const std::string& dest_dir,
             const std::optional<Owner>& owner);

}  // namespace kiln::llbsolver::file
