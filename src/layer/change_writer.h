#pragma once
// The part of the layer differs shared by both walks (layer_diff.h): ChangeWriter turns changes,
// reported in walk order, into tar entries (parents included, hardlinks, whiteouts), and
// SameEntry decides whether an entry changed. Internal to the layer module; not thread-safe.

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "layer/layer_diff.h"
#include "util/fs_copy.h"
#include "util/tar_writer.h"

namespace kiln::layer::internal {

enum class ChangeKind { kAdd, kModify, kUnmodified };

// Whether xattr `name` goes into layers under opts (overlayfs's own never do).
bool KeepXattr(const DiffOptions& opts, std::string_view name);
// The xattrs of path that KeepXattr keeps, sorted by name.
Result<std::vector<Xattr>> LayerXattrs(const DiffOptions& opts, const std::string& path);

// Whether the entry at `b` (stat sb) equals the one at `a` (stat sa) as far as a layer can tell;
// the rule is in layer_diff.h. Reads xattrs, symlink targets and, rarely, contents.
Result<bool> SameEntry(const Context& ctx, const DiffOptions& opts, const std::string& a,
                       const struct stat& sa, const std::string& b, const struct stat& sb);

class ChangeWriter {
 public:
  // Entries are read from the tree at `source` (paths below are relative to it).
  ChangeWriter(const Context& ctx, const DiffOptions& opts, std::string source,
               const ByteSink& sink);
  ChangeWriter(const ChangeWriter&) = delete;
  ChangeWriter& operator=(const ChangeWriter&) = delete;

  // An entry of the source tree at rel ("a/b", no leading or trailing "/") with its lstat, in
  // walk order. Unmodified entries write nothing by themselves; they matter for hardlinks.
  Status Change(ChangeKind kind, const std::string& rel, const struct stat& st);
  // rel was deleted: a whiteout next to it.
  Status Delete(const std::string& rel);
  // The directory rel hides everything of the lower layers: its opaque marker.
  Status Opaque(const std::string& rel);
  // Ends the archive.
  Result<DiffStats> Close();

 private:
  Status WriteWhiteout(const std::string& name);
  // Writes the directories above rel that are not written yet, outermost first.
  Status IncludeParents(const std::string& rel);
  Result<TarHeader> Header(const std::string& rel, const struct stat& st);

  const Context& ctx_;
  const DiffOptions& opts_;
  const std::string source_;
  TarWriter w_;
  DiffStats stats_;
  std::set<std::string> added_dirs_;  // directories written so far
  // Hardlinks (non-directories with several links): the first path written for an inode, and the
  // unmodified paths seen before it, written as links to it once it is.
  std::map<std::pair<dev_t, ino_t>, std::string> link_source_;
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> link_waiting_;
};

}  // namespace kiln::layer::internal
