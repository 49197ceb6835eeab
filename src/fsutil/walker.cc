#include "fsutil/walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>
#include <utility>

#include "fsutil/filemode.h"
#include "fsutil/follow_links.h"
#include "fsutil/pattern_matcher.h"
#include "fsutil/xattr.h"

namespace kiln::fsutil {

namespace {

using MatchInfo = PatternMatcher::MatchInfo;
using PatternSet = PatternMatcher::PatternSet;

// A directory on the current walk path, kept so that a filtered-out directory can be listed
// lazily when one of its descendants is included.
struct Frame {
  const Frame* parent = nullptr;
  std::string rel;
  std::string name;  // last component of rel
  struct stat st {};
  mutable bool emitted = false;
  MatchInfo include;
  MatchInfo exclude;
  int fd = -1;  // the directory, open while it is walked: entries are looked up relative to it
};

// Closes a directory fd when its walk ends.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;  // would close twice
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { close(fd_); }

 private:
  int fd_;
};

class Walker {
 public:
  Walker(const Context& ctx, const WalkOptions& opts, const WalkFn& fn)
      : ctx_(ctx), opts_(opts), fn_(fn) {}

  Status Run(const std::string& root) {
    KILN_ASSIGN_OR_RETURN(root_, ResolveWalkRoot(root));
    KILN_RETURN_IF_ERROR(BuildMatchers());
    Frame top;
    top.emitted = true;  // the root is never listed
    return WalkDir(top);
  }

 private:
  Status BuildMatchers() {
    std::vector<std::string> includes = opts_.include_patterns;
    if (!opts_.follow_paths.empty()) {
      KILN_ASSIGN_OR_RETURN(auto targets, internal::FollowLinks(root_, opts_.follow_paths));
      if (targets.has_value()) {
        includes.insert(includes.end(), targets->begin(), targets->end());
        includes = internal::DedupePaths(includes).value_or(std::vector<std::string>{});
      }
    }
    Result<PatternMatcher> inc = PatternMatcher::Create(includes);
    if (!inc.ok()) return inc.status().Annotate("invalid include patterns");
    include_ = std::move(inc).value();
    Result<PatternMatcher> exc = PatternMatcher::Create(opts_.exclude_patterns);
    if (!exc.ok()) return exc.status().Annotate("invalid exclude patterns");
    exclude_ = std::move(exc).value();
    return Status::Ok();
  }

  // Opens the directory `dir`, relative to its parent (whose walk is under way), if any.
  Result<int> OpenDir(const Frame& dir) {
    const int at = dir.parent == nullptr ? AT_FDCWD : dir.parent->fd;
    const std::string& name = dir.parent == nullptr ? root_ : dir.name;
    int fd = openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return ErrnoStatus(errno, "open directory " + (dir.rel.empty() ? root_ : Host(dir.rel)));
    }
    return fd;
  }

  std::string Host(const std::string& rel) const {
    return root_ == "/" ? "/" + rel : root_ + "/" + rel;
  }

  Result<std::vector<std::string>> ReadDirSorted(int fd, const std::string& host) {
    int list_fd = dup(fd);  // closedir closes it
    if (list_fd < 0) return ErrnoStatus(errno, "open directory " + host);
    DIR* d = fdopendir(list_fd);
    if (d == nullptr) {
      int err = errno;
      close(list_fd);
      return ErrnoStatus(err, "open directory " + host);
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    int err = errno;
    closedir(d);
    if (err != 0) return ErrnoStatus(err, "read directory " + host);
    std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned char
    return names;
  }

  Status WalkDir(Frame& dir) {
    const std::string host = dir.rel.empty() ? root_ : Host(dir.rel);
    Result<int> fd = OpenDir(dir);
    std::optional<FdCloser> closer;
    if (fd.ok()) {
      closer.emplace(*fd);
      dir.fd = *fd;
    }
    Result<std::vector<std::string>> names =
        fd.ok() ? ReadDirSorted(*fd, host) : Result<std::vector<std::string>>(fd.status());
    if (!names.ok()) {
      // An unreadable directory that is itself filtered out is not an error (as upstream).
      if (!dir.emitted && names.status().code() == Code::kPermissionDenied) return Status::Ok();
      return names.status();
    }
    for (const std::string& name : *names) {
      KILN_RETURN_IF_ERROR(ctx_.Err());
      Frame f;
      f.parent = &dir;
      f.rel = dir.rel.empty() ? name : dir.rel + "/" + name;
      f.name = name;
      if (fstatat(dir.fd, name.c_str(), &f.st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while walking
        return ErrnoStatus(errno, "lstat " + Host(f.rel));
      }
      const bool is_dir = S_ISDIR(f.st.st_mode);
      bool skip = false;
      if (!include_.empty() &&
          !include_.MatchesUsingParentResults(f.rel, dir.include, &f.include)) {
        if (is_dir && !include_.MayMatchInside(f.rel, PatternSet::kInclusions)) continue;
        skip = true;
      }
      if (!exclude_.empty() && exclude_.MatchesUsingParentResults(f.rel, dir.exclude, &f.exclude)) {
        if (is_dir && !exclude_.MayMatchInside(f.rel, PatternSet::kExceptions)) continue;
        skip = true;
      }
      if (!skip) {
        KILN_RETURN_IF_ERROR(EmitParents(dir));
        KILN_RETURN_IF_ERROR(Emit(f));
        f.emitted = true;
      }
      if (is_dir) KILN_RETURN_IF_ERROR(WalkDir(f));
    }
    return Status::Ok();
  }

  Status EmitParents(const Frame& dir) {
    if (dir.emitted) return Status::Ok();
    KILN_RETURN_IF_ERROR(EmitParents(*dir.parent));
    KILN_RETURN_IF_ERROR(Emit(dir));
    dir.emitted = true;
    return Status::Ok();
  }

  // `f` is not the root, so its parent's walk is under way and the parent is open.
  Status Emit(const Frame& f) {
    const std::string& rel = f.rel;
    const struct stat& st = f.st;
    const int parent_fd = f.parent->fd;
    Stat s;
    s.set_path(rel);
    s.set_mode(GoFileMode(st.st_mode) & ~kModeSocket);
    s.set_uid(opts_.uid.value_or(st.st_uid));
    s.set_gid(opts_.gid.value_or(st.st_gid));
    s.set_modtime(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
    const std::string host = Host(rel);
    if (!S_ISDIR(st.st_mode)) s.set_size(st.st_size);
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 256, '\0');
      ssize_t n = readlinkat(parent_fd, f.name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(errno, "readlink " + host);
      target.resize(static_cast<size_t>(n));
      s.set_linkname(std::move(target));
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      s.set_devmajor(major(st.st_rdev));
      s.set_devminor(minor(st.st_rdev));
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      auto [it, inserted] = hardlinks_.try_emplace({st.st_dev, st.st_ino}, rel);
      if (!inserted) {
        s.set_linkname(it->second);
        s.set_size(0);
      }
    }
    KILN_ASSIGN_OR_RETURN(internal::XattrMap xattrs,
                          internal::ReadXattrsAt(parent_fd, f.name, host));
    for (auto& [k, v] : xattrs) (*s.mutable_xattrs())[k] = std::move(v);
    return fn_(std::move(s));
  }

  const Context& ctx_;
  const WalkOptions& opts_;
  const WalkFn& fn_;
  std::string root_;
  PatternMatcher include_;
  PatternMatcher exclude_;
  std::map<std::pair<dev_t, ino_t>, std::string> hardlinks_;  // inode -> first path listed
};

}  // namespace

Result<std::string> ResolveWalkRoot(const std::string& root) {
  char* resolved = realpath(root.c_str(), nullptr);
  if (resolved == nullptr) return ErrnoStatus(errno, "resolve " + root);
  std::string out(resolved);
  free(resolved);
  struct stat st;
  if (stat(out.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + out);
  if (!S_ISDIR(st.st_mode)) return InvalidArgument(root + " is not a directory");
  return out;
}

Status Walk(const Context& ctx, const std::string& root, const WalkOptions& opts,
            const WalkFn& fn) {
  Walker w(ctx, opts, fn);
  return w.Run(root);
}

}  // namespace kiln::fsutil
