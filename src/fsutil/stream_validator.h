#pragma once
// Validates the STAT listing a receiver gets, before anything touches the disk: paths clean,
// relative, without ".."; a directory before its children; names strictly increasing (byte-wise)
// within each directory; hardlinks pointing at a regular file listed earlier; no socket or
// irregular entries. Violations are InvalidArgument errors naming the path.
// Not thread-safe.

#include <string>
#include <unordered_map>
#include <vector>

#include "fsutil/packet_stream.h"
#include "util/status.h"

namespace kiln::fsutil::internal {

class StreamValidator {
 public:
  enum class Kind {
    kDir,
    kLinkTarget,  // a regular file without linkname: a later hardlink may point at it
    kOther,
  };

  Status Add(const Stat& stat);

  // Every path accepted so far, with its kind.
  const std::unordered_map<std::string, Kind>& entries() const { return entries_; }

 private:
  struct OpenDir {
    std::string path;  // "" for the root
    std::string last;  // last name listed in it
  };

  Status CheckPath(const std::string& p) const;

  std::vector<OpenDir> stack_{OpenDir{}};
  std::unordered_map<std::string, Kind> entries_;
};

}  // namespace kiln::fsutil::internal
