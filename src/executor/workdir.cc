#include "executor/workdir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "util/path.h"

namespace kiln::executor {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;  // one owner closes it
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  void Reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

}  // namespace

Status MakeWorkdir(const std::string& rootfs, const std::string& cwd, uint32_t uid, uint32_t gid) {
  std::string root = rootfs;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  KILN_ASSIGN_OR_RETURN(std::string host, ResolveInRoot(root, cwd, /*follow_last=*/true));
  // ResolveInRoot leaves no symlink in the part that exists, so walking it with O_NOFOLLOW
  // only fails if something changes the tree meanwhile.
  std::string rel = host.size() > root.size() ? host.substr(root.size() + 1) : "";
  Fd dir(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoStatus(errno, "open rootfs " + root);
  std::string done;
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string name = rel.substr(i, j - i);
    i = j + 1;
    if (name.empty()) continue;
    done += "/" + name;
    if (mkdirat(dir.get(), name.c_str(), 0755) == 0) {
      // Exact mode whatever the umask, then the owner.
      if (fchmodat(dir.get(), name.c_str(), 0755, 0) != 0 ||
          fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoStatus(errno, "failed to create working directory " + done);
      }
    } else if (errno != EEXIST) {
      return ErrnoStatus(errno, "failed to create working directory " + done);
    }
    int next = openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      if (errno == ENOTDIR || errno == ELOOP) {
        return FailedPrecondition("working directory " + cwd + ": " + done +
                                  " exists and is not a directory");
      }
      return ErrnoStatus(errno, "failed to open working directory " + done);
    }
    dir.Reset(next);
  }
  return Status::Ok();
}

}  // namespace kiln::executor
