#pragma once
// Persistent metadata of the overlayfs snapshotter: one small JSON file per snapshot,
// root/snapshots/<id>/info.json, replaced atomically (write a temp file, rename). A snapshot
// directory appears by renaming a fully prepared ".tmp-<id>" into place and disappears by
// renaming it to ".tmp-rm-<id>" first, so a crash leaves only ".tmp-*" leftovers, which the
// snapshotter removes at open. Stateless functions; thread-compatible.

#include <cstdint>
#include <string>

#include "util/status.h"

namespace kiln::snapshot {

struct OverlayRecord {
  int64_t id = 0;  // the directory name under root/snapshots
  std::string key;
  std::string parent;  // key of the parent, "" for none
  bool committed = false;
};

// A valid key: non-empty, at most 255 bytes of printable ASCII without '/' or spaces, not
// starting with '.' (the cache manager's keys are hex ids). Keys are stored as JSON strings.
Status CheckOverlayKey(const std::string& key);

// Writes dir/info.json atomically.
Status SaveRecord(const std::string& dir, const OverlayRecord& rec);

// Reads dir/info.json; DataLoss when it is missing or malformed.
Result<OverlayRecord> LoadRecord(const std::string& dir);

}  // namespace kiln::snapshot
