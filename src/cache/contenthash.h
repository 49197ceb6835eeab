#pragma once
// Host-independent content checksums of paths inside a snapshot root, in the spirit of
// BuildKit's cache/contenthash: what `COPY` would copy decides the digest, how it sits on this
// host does not.
//
// Covered, per entry: its path relative to the checksummed path (as the sequence of names from
// it), its type, permission bits incl. setuid/setgid/sticky, uid, gid, symlink target, device
// numbers, the sha256 of a regular file's content, and the `user.*` and `security.capability`
// xattrs sorted by name. Never covered: atime/mtime/ctime, inode numbers, link counts, sizes of
// directories, `security.selinux`, `trusted.*` or any other xattr. Sockets are ignored (they are
// never copied). The checksummed entry's own name is not covered, so equal trees at different
// paths have equal digests; a directory's digest covers its own header and each child's name
// and digest, children sorted byte-wise.
//
// Free functions are stateless and thread-safe; ChecksumCache is thread-safe.

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::cache {

struct ChecksumOptions {
  // Follow a symlink at the final component (earlier components are always resolved, inside
  // root, as if root were "/").
  bool follow_links = false;
  // The path's components may be globs with Go filepath.Match syntax (`*`, `?`, `[a-z]`, `\`).
  // The digest then combines every match's path and digest in sorted order; no match gives
  // sha256 of the empty string, as BuildKit does. A path without glob characters is checksummed
  // as if wildcard were off.
  bool wildcard = false;
  // Include/exclude filter on paths relative to the checksummed path ("a/b"), with the same
  // meaning as in CopyOptions, so a filtered COPY and its checksum agree.
  std::function<bool(std::string_view rel_path, bool is_dir)> filter;
  std::function<bool(std::string_view rel_dir)> may_contain_matches;
  // Names the filter in ChecksumCache keys (e.g. the joined patterns). A filter without a key is
  // computed every time.
  std::string filter_key;
  // The sha256 of a regular file's content when the caller knows it (it wrote the file and
  // hashed the bytes on the way), by path relative to the checksummed path; nullopt: read the
  // file. Only for trees nothing else writes to.
  std::function<std::optional<Digest>(const std::string& rel_path)> known_content;
};

// Checksum of `path` (absolute or relative; cleaned, never climbing above root) inside the
// directory `root`. "/" is the whole root. A missing path is NotFound naming it.
Result<Digest> Checksum(const Context& ctx, const std::string& root, std::string_view path,
                        const ChecksumOptions& opts);

// Memoizes checksums of immutable trees, keyed by (root id, cleaned path, options). Callers
// must only use it on roots that no longer change (ImmutableRef) and Forget a root id when it
// is released. Concurrent misses on one key may each compute it; the results are equal.
class ChecksumCache {
 public:
  Result<Digest> Checksum(const Context& ctx, const std::string& root_id, const std::string& root,
                          std::string_view path, const ChecksumOptions& opts);
  // The digest Checksum would return from its cache, without touching the tree (nullopt: not
  // cached, or not cacheable with these options).
  std::optional<Digest> Cached(const std::string& root_id, std::string_view path,
                               const ChecksumOptions& opts) const;
  // Drops every entry of root_id.
  void Forget(const std::string& root_id);
  size_t size() const;

 private:
  struct Key {
    std::string root_id;
    std::string path;
    std::string options;
    auto operator<=>(const Key&) const = default;
  };
  mutable std::mutex mu_;
  std::map<Key, Digest> entries_;  // guarded by mu_
};

}  // namespace kiln::cache
