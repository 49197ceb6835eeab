#pragma once
// Small filesystem helpers shared by the FileOp actions (internal to this module): Go-style path
// errors, hiding the host root in messages, and creating parent directories with BuildKit's
// ownership and timestamp rules. Stateless, thread-safe.

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llbsolver/file/user.h"
#include "util/status.h"

namespace kiln::llbsolver::file {

// Closes an owned file descriptor. Not copyable: two copies would close it twice.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }

 private:
  int fd_;
};

// "op path: no such file or directory" (Go's os.PathError wording), coded from errno.
Status PathError(int err, std::string_view op, std::string_view path);

// Rewrites host paths under any of `roots` in the message to paths inside that root, so users
// see "/app/x" rather than the snapshot mount point.
Status Scrub(const Status& s, std::initializer_list<std::string_view> roots);

// An empty root would make every path a host path: refused (InvalidArgument).
Status CheckRoot(std::string_view root);

// root without trailing slashes ("/" stays "/"), the form ResolveInRoot's results start with.
std::string NormalizeRoot(std::string_view root);

// The in-root path of host path p under root ("/" for root itself).
std::string InRoot(std::string_view root, std::string_view p);

// LLB timestamps: -1 means unset.
inline std::optional<int64_t> TimestampOf(int64_t ns) {
  return ns == -1 ? std::nullopt : std::optional<int64_t>(ns);
}

// Sets atime and mtime of p (not following a final symlink) to ns; no-op for nullopt.
Status SetTimes(const std::string& p, std::optional<int64_t> ns);

// lchown(p) to owner; no-op for nullopt.
Status Chown(const std::string& p, const std::optional<Owner>& owner);

// Creates the missing directories of host_path, which lies under root and has no symlinks in
// its existing part (as ResolveInRoot returns it). Each new directory gets exactly `perm`, then
// owner and timestamp when given (fsutil's MkdirAll). An existing non-directory on the way is
// an error. Returns the created directories, outermost first.
Result<std::vector<std::string>> MkdirAll(const std::string& root, const std::string& host_path,
                                          mode_t perm, const std::optional<Owner>& owner,
                                          std::optional<int64_t> ts);

// Re-applies ts to directories made by MkdirAll once their contents are written (newest first).
Status FixCreatedDirTimes(const std::vector<std::string>& dirs, std::optional<int64_t> ts);

}  // namespace kiln::llbsolver::file
