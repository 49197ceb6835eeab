#pragma once
// Moves the tree under `src` into `dst`, keeping entries of `dst` that `src` does not have
// (buildctl's local exporter merges into an existing directory; fsutil::Receive mirrors, so the
// client receives into a fresh directory inside dst and merges it). Entries of src replace
// those of dst with the same name, except that directories are merged recursively and then
// take src's mode and times. Symlinks in dst are never followed. `src` is removed. Both must
// be on one filesystem (rename). Not thread-safe for the same trees.

#include <string>

#include "util/status.h"

namespace kiln::client {

Status MergeTree(const std::string& src, const std::string& dst);

// Removes `path` and everything below it, without following symlinks. Missing is fine.
Status RemoveTree(const std::string& path);

}  // namespace kiln::client
