#pragma once
// DestDir: file operations on paths inside a destination directory that can never reach outside
// it. Every operation opens the parent directory component by component from a root fd with
// O_NOFOLLOW|O_DIRECTORY and then acts on the last name with an *at() call that does not follow
// a final symlink, so a symlink anywhere in the destination (even one planted by an earlier
// transfer) is never traversed. Paths are clean, relative, '/'-separated and free of "..";
// callers validate that. Not thread-safe (one receiver owns one DestDir).

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fsutil/packet_stream.h"
#include "fsutil/xattr.h"
#include "util/status.h"

namespace kiln::fsutil::internal {

// Owns a file descriptor. Move-only: copying would double-close.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

class DestDir {
 public:
  // Creates `path` (and its parents) if missing and opens it.
  static Result<DestDir> Open(const std::string& path);

  const std::string& path() const { return path_; }

  // lstat of rel; std::nullopt if it does not exist.
  Result<std::optional<struct stat>> Lstat(std::string_view rel);
  // The metadata of rel as the sender would describe it (mode, owner, size, mtime, symlink
  // target, device numbers), without xattrs; std::nullopt if it does not exist.
  Result<std::optional<Stat>> ReadStat(std::string_view rel);
  // The xattrs of rel (which must exist).
  Result<XattrMap> ReadXattrs(std::string_view rel);
  // Names in directory rel ("" for the root), unsorted.
  Result<std::vector<std::string>> ListDir(std::string_view rel);

  Status Mkdir(std::string_view rel, mode_t mode);
  Status Symlink(const std::string& target, std::string_view rel);
  Status Mknod(std::string_view rel, mode_t mode, dev_t dev);
  Status Link(std::string_view existing, std::string_view rel);
  // Creates a new regular file (fails if rel exists) open for writing, with the permission
  // bits of `mode` less the umask.
  Result<UniqueFd> CreateFile(std::string_view rel, mode_t mode);
  // Removes rel and, for a directory, everything below it. Missing is fine.
  Status RemoveAll(std::string_view rel);

  Status Chown(std::string_view rel, uid_t uid, gid_t gid);
  Status Chmod(std::string_view rel, mode_t mode);  // not for symlinks
  Status SetXattrs(std::string_view rel, const XattrMap& xattrs);
  // Makes rel's xattrs exactly `xattrs`: also removes the ones not listed (those the kernel
  // refuses to remove for this caller are left, as SetXattrs skips what it may not set).
  Status ReplaceXattrs(std::string_view rel, const XattrMap& xattrs);
  Status SetMtime(std::string_view rel, int64_t mtime_ns);

  // Called once, before the first change this DestDir makes under its root; its error fails
  // that change. Lets a caller keep a record of the tree's state until it really changes.
  void OnFirstChange(std::function<Status()> fn) { first_change_ = std::move(fn); }

 private:
  DestDir(std::string path, UniqueFd root) : path_(std::move(path)), root_(std::move(root)) {}

  // fd of rel's parent directory (borrowed from the cache) and rel's last component.
  Result<std::pair<int, std::string>> Parent(std::string_view rel);
  Result<UniqueFd> OpenDir(std::string_view rel);  // uncached, rel "" = root
  // A path naming rel for the l*xattr calls, which have no *at() form: through the parent fd.
  Result<std::string> XattrPath(std::string_view rel);
  void InvalidateCache() { chain_.clear(); }

  Status Changing();

  std::string path_;
  UniqueFd root_;
  std::function<Status()> first_change_;  // reset once called
  // The directories of the last parent opened: chain_[i] is the fd of its first i+1 components.
  // Depth-first traffic reuses most of it.
  std::vector<std::pair<std::string, UniqueFd>> chain_;
};

}  // namespace kiln::fsutil::internal
