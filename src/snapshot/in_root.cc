#include "snapshot/in_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>

#include "util/fs_copy.h"

namespace kiln::snapshot {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's MAXSYMLINKS

Result<std::string> ReadLinkAt(int dir_fd, const std::string& name, const std::string& what) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return ErrnoStatus(errno, "readlink " + what);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

std::string Under(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

std::vector<std::string> SplitPath(std::string_view rel) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    std::string_view part = rel.substr(i, j - i);
    if (!part.empty() && part != ".") out.emplace_back(part);
    i = j + 1;
  }
  return out;
}

std::string ProcPath(int dir_fd, std::string_view name) {
  std::string p = "/proc/self/fd/" + std::to_string(dir_fd);
  if (!name.empty()) {
    p += '/';
    p += name;
  }
  return p;
}

Status RemoveAt(int dir_fd, const std::string& name) {
  if (unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return Status::Ok();
  if (errno != EISDIR) return ErrnoStatus(errno, "remove " + name);
  // A real directory (unlinkat removes a symlink to one): the path-based walker below never
  // follows a symlink, and the prefix is pinned by the open directory.
  return RemoveAll(ProcPath(dir_fd, name));
}

Result<TreeRoot> TreeRoot::Open(const std::string& dir) {
  int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + dir);
  return TreeRoot(Fd(fd), dir);
}

Result<TreeRoot::Dir> TreeRoot::OpenDir(std::string_view rel, bool create,
                                        const MkdirHook& hook,
                                        const LowerLinkFn& lower_link) const {
  // Components still to walk; `true` marks those that came from a symlink's target.
  std::deque<std::pair<std::string, bool>> pending;
  for (auto& p : SplitPath(rel)) pending.emplace_back(std::move(p), false);
  // Only the innermost directory stays open (deep paths would otherwise exhaust fds); ".." from
  // a link target re-walks from the root through `names`, which are real directories.
  std::vector<std::string> names;
  Fd cur;
  auto cur_fd = [&] { return cur.valid() ? cur.get() : fd_.get(); };
  auto reopen = [&]() -> Status {
    cur = Fd();
    for (const auto& n : names) {
      int fd = openat(cur_fd(), n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(errno, "open " + Join(names));
      cur = Fd(fd);
    }
    return Status::Ok();
  };
  int links = 0;
  std::string last_link;  // the symlink whose target is being walked, for errors
  while (!pending.empty()) {
    auto [part, from_link] = std::move(pending.front());
    pending.pop_front();
    if (part == "..") {  // stops at the root, as in a chroot
      if (names.empty() && from_link) {
        // A relative link climbing above the root is an escape attempt, never a real image's
        // layout (absolute links such as var/run -> /run are fine and resolve inside).
        return InvalidArgument("symlink " + last_link + " points outside the snapshot");
      }
      if (!names.empty()) {
        names.pop_back();
        KILN_RETURN_IF_ERROR(reopen());
      }
      continue;
    }
    const std::string here = Under(Join(names), part);
    // Continues the walk at a symlink's target (absolute targets restart at the root).
    auto follow = [&](const std::string& target) -> Status {
      if (++links > kMaxSymlinks) {
        return FailedPrecondition(here + ": too many levels of symbolic links");
      }
      if (target.empty()) return NotFound(here + " is a symlink to nothing");
      if (target[0] == '/') {
        names.clear();
        cur = Fd();
      }
      last_link = here;
      auto parts = SplitPath(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.emplace_front(*it, true);
      return Status::Ok();
    };
    struct stat st;
    if (fstatat(cur_fd(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) return ErrnoStatus(errno, "lstat " + here);
      if (lower_link) {
        KILN_ASSIGN_OR_RETURN(auto target, lower_link(here));
        if (target) {
          KILN_RETURN_IF_ERROR(follow(*target));
          continue;
        }
      }
      if (!create) return NotFound(here + " does not exist");
      if (mkdirat(cur_fd(), part.c_str(), 0755) != 0) return ErrnoStatus(errno, "mkdir " + here);
      if (hook) KILN_RETURN_IF_ERROR(hook(cur_fd(), part, here));
      if (fstatat(cur_fd(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoStatus(errno, "lstat " + here);
      }
    }
    if (S_ISLNK(st.st_mode)) {
      KILN_ASSIGN_OR_RETURN(std::string target, ReadLinkAt(cur_fd(), part, here));
      KILN_RETURN_IF_ERROR(follow(target));
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return FailedPrecondition(here + " is not a directory");
    int fd = openat(cur_fd(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open " + here);
    cur = Fd(fd);
    names.push_back(std::move(part));
  }
  Dir d;
  if (cur.valid()) {
    d.fd = std::move(cur);
  } else {
    int fd = fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return ErrnoStatus(errno, "dup " + path_);
    d.fd = Fd(fd);
  }
  d.rel = Join(names);
  return d;
}

}  // namespace kiln::snapshot
