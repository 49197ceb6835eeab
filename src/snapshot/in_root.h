#pragma once
// fd-relative access to a directory tree that never leaves it. Directories are opened one
// component at a time with O_NOFOLLOW; a symlink met on the way is resolved as if the tree were
// "/" (containerd's fs.RootPath, the kernel's RESOLVE_IN_ROOT): absolute targets start again at
// the tree's root and ".." stops there. So no entry name, link target or ".." can reach outside,
// and a symlink made by one layer entry cannot redirect a later write. Layer apply uses this for
// every path a (possibly hostile) tar names. Not thread-safe; values are move-only.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace kiln::snapshot {

// An owned file descriptor, closed on destruction. Move-only: two owners would close it twice.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Components of a relative path ("a//b/./c" -> {"a", "b", "c"}); ".." is kept as a component.
std::vector<std::string> SplitPath(std::string_view rel);

// "/proc/self/fd/<dir_fd>/<name>" (just the directory when name is empty): a path for the few
// calls that have no *at form (xattrs, the path-based tree helpers). Resolving it goes through
// the open directory, never through the names above it.
std::string ProcPath(int dir_fd, std::string_view name);

// Removes `name` in directory dir_fd and everything below it, without following symlinks.
// A missing name is not an error.
Status RemoveAt(int dir_fd, const std::string& name);

// Called after TreeRoot::OpenDir made the missing directory `name` in parent_fd, whose real
// path from the root is `rel` (e.g. to copy the metadata of the same directory of a lower layer).
using MkdirHook =
    std::function<Status(int parent_fd, const std::string& name, const std::string& rel)>;

// For a name missing in the tree at `rel`: the target of a symlink that a lower layer has there
// (overlay mode, where the tree is an upper dir and the lowers show through), or nullopt.
using LowerLinkFn = std::function<Result<std::optional<std::string>>(const std::string& rel)>;

class TreeRoot {
 public:
  // Opens the directory `dir` (a symlink there is followed: the tree itself is trusted).
  static Result<TreeRoot> Open(const std::string& dir);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // An open directory of the tree and its real path from the root ("" for the root itself).
  struct Dir {
    Fd fd;
    std::string rel;
  };

  // Opens the directory at `rel` (relative; cleaned or not), following symlinks inside the tree.
  // A missing directory is made (mode 0755, owned by the caller, then `hook`) when `create` is
  // set, else it is NotFound. A non-directory on the way is FailedPrecondition.
  // A name missing here that `lower_link` reports as a lower layer's symlink is followed as if
  // it were in the tree.
  Result<Dir> OpenDir(std::string_view rel, bool create, const MkdirHook& hook = nullptr,
                      const LowerLinkFn& lower_link = nullptr) const;

 private:
  TreeRoot(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Fd fd_;
  std::string path_;
};

}  // namespace kiln::snapshot
