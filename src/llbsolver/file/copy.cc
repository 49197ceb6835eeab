// FileActionCopy: fsutil's copy.Copy on top of kiln::CopyTree.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "llbsolver/file/backend.h"
#include "llbsolver/file/fs_ops.h"
#include "llbsolver/file/selector.h"
#include "llbsolver/file/unpack.h"
#include "llbsolver/file/wildcard.h"
#include "util/fs_copy.h"
#include "util/mode_set.h"
#include "util/path.h"

namespace kiln::llbsolver::file {
namespace {

// backend.go's cleanPath: absolute and clean, but keeping a trailing "/" or "/.", which mean
// "into this directory" (dest) and "the contents of" (src).
std::string CleanKeepingSlash(std::string_view s) {
  std::string out = CleanPath("/" + std::string(s));
  auto ends_with = [s](std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
  };
  if (ends_with("/.")) {
    if (out != "/") out += '/';
    out += '.';
  } else if (ends_with("/") && out != "/") {
    out += '/';
  }
  return out;
}

// Go's filepath.Base: trailing slashes dropped, "/" for a path of slashes.
std::string GoBase(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  if (p == "/") return "/";
  return std::string(Base(p));
}

struct Params {
  std::optional<Owner> owner;
  std::optional<uint32_t> mode;  // 07777
  std::optional<ModeSet> mode_set;
  std::optional<int64_t> ts;
  Selector selector;
  bool dir_contents = false;
  bool follow = false;
  bool replace = false;
  bool unpack = false;
};

// Metadata of an existing destination directory that a copy merges into: fsutil leaves its
// owner, mode and xattrs alone and only gives it the source's times.
struct KeptDir {
  struct stat st;
  std::vector<Xattr> xattrs;
};

Result<KeptDir> Keep(const std::string& dir) {
  KeptDir k;
  if (lstat(dir.c_str(), &k.st) != 0) return PathError(errno, "lstat", dir);
  KILN_ASSIGN_OR_RETURN(k.xattrs, ReadXattrs(dir));
  return k;
}

Status Restore(const std::string& dir, const KeptDir& k, const struct stat& src,
               std::optional<int64_t> ts) {
  if (lchown(dir.c_str(), k.st.st_uid, k.st.st_gid) != 0) return PathError(errno, "lchown", dir);
  KILN_ASSIGN_OR_RETURN(std::vector<Xattr> cur, ReadXattrs(dir));
  auto covered = [](const std::string& name) { return name.rfind("user.", 0) == 0; };
  for (const Xattr& x : cur) {
    bool kept = false;
    for (const Xattr& y : k.xattrs) kept = kept || y.name == x.name;
    if (!kept && lremovexattr(dir.c_str(), x.name.c_str()) != 0 && covered(x.name)) {
      return PathError(errno, "removexattr " + x.name, dir);
    }
  }
  for (const Xattr& x : k.xattrs) {
    if (lsetxattr(dir.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0) != 0 &&
        covered(x.name)) {
      return PathError(errno, "setxattr " + x.name, dir);
    }
  }
  if (chmod(dir.c_str(), k.st.st_mode & 07777) != 0) return PathError(errno, "chmod", dir);
  if (ts) return SetTimes(dir, ts);
  struct timespec times[2] = {src.st_atim, src.st_mtim};
  if (utimensat(AT_FDCWD, dir.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return PathError(errno, "utime", dir);
  }
  return Status::Ok();
}

class Copier {
 public:
  Copier(const Context& ctx, const std::string& src_root, const std::string& dest_root,
         const Params& p)
      : ctx_(ctx), src_root_(src_root), dest_root_(dest_root), p_(p) {}

  // Copies one source (an in-root path, maybe with a trailing "/" or "/.") to dest (cleaned
  // with CleanKeepingSlash), as fsutil's Copy.
  Status CopyOne(const std::string& src, const std::string& dest) {
    const mode_t dir_perm = p_.mode ? (*p_.mode & 0777) : 0755;
    // The destination directory: dest itself when it ends in "/" or "/.", else its parent.
    std::string ensure = dest;
    std::string dest_base(Base(dest));
    if (!dest_base.empty() && dest_base != ".") ensure = std::string(Dir(dest));
    KILN_ASSIGN_OR_RETURN(std::string ensure_host,
                          ResolveInRoot(dest_root_, CleanPath(ensure), true));
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> created,
                          MkdirAll(dest_root_, ensure_host, dir_perm, p_.owner, p_.ts));

    KILN_ASSIGN_OR_RETURN(std::string dst, ResolveInRoot(dest_root_, CleanPath(dest), true));
    KILN_ASSIGN_OR_RETURN(std::string src_host,
                          ResolveInRoot(src_root_, CleanPath(src), p_.follow));
    struct stat src_st;
    if (lstat(src_host.c_str(), &src_st) != 0) return PathError(errno, "stat", src_host);
    const bool src_dir = S_ISDIR(src_st.st_mode);
    struct stat dst_st;
    bool dst_exists = lstat(dst.c_str(), &dst_st) == 0;
    // Into an existing directory: under the source's name.
    if ((!p_.dir_contents && src_dir && dst_exists) ||
        (!src_dir && dst_exists && S_ISDIR(dst_st.st_mode))) {
      std::string b = GoBase(src);
      if (b != "." && b != "/") dst += "/" + b;
    }
    std::string target = dst;
    if (!(p_.dir_contents && src_dir && !dst_exists) && dst != dest_root_) {
      target = std::string(Dir(dst));
    }
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> more,
                          MkdirAll(dest_root_, target, dir_perm, p_.owner, p_.ts));
    created.insert(created.end(), more.begin(), more.end());

    dst_exists = lstat(dst.c_str(), &dst_st) == 0;
    if (dst_exists && !p_.replace) KILN_RETURN_IF_ERROR(CheckConflicts(src_host, dst));
    std::optional<KeptDir> kept;
    if (src_dir && dst_exists && S_ISDIR(dst_st.st_mode)) {
      KILN_ASSIGN_OR_RETURN(kept, Keep(dst));
    }
    KILN_RETURN_IF_ERROR(CopyTree(ctx_, src_host, dst, TreeOptions()));
    if (p_.mode_set) KILN_RETURN_IF_ERROR(ApplyModeSet(src_host, dst, kept.has_value()));
    if (kept) KILN_RETURN_IF_ERROR(Restore(dst, *kept, src_st, p_.ts));
    return FixCreatedDirTimes(created, p_.ts);
  }

  // ADD of a local archive: extracts it into dest (created like a directory). False when src
  // is not an archive.
  Result<bool> Unpack(const std::string& src, const std::string& dest) {
    KILN_ASSIGN_OR_RETURN(std::string src_host, ResolveInRoot(src_root_, CleanPath(src), true));
    if (!IsTarArchive(src_host)) return false;
    KILN_ASSIGN_OR_RETURN(std::string dst, ResolveInRoot(dest_root_, CleanPath(dest), true));
    auto made = MkdirAll(dest_root_, dst, 0755, p_.owner, p_.ts);
    KILN_RETURN_IF_ERROR(made.status());
    KILN_RETURN_IF_ERROR(Untar(ctx_, src_host, dst, p_.owner));
    return true;
  }

 private:
  CopyOptions TreeOptions() const {
    CopyOptions o;
    if (p_.owner) {
      o.uid = p_.owner->uid;
      o.gid = p_.owner->gid;
    }
    if (!p_.mode_set) o.mode = p_.mode;
    o.timestamp_ns = p_.ts;
    if (!p_.selector.empty()) {
      const Selector* sel = &p_.selector;
      o.filter = [sel](std::string_view rel, bool) { return sel->Take(rel); };
      o.may_contain_matches = [sel](std::string_view rel) { return sel->Search(rel); };
    }
    return o;
  }

  // Without alwaysReplaceExistingDestPaths, fsutil refuses to put a directory where a
  // non-directory is, or the other way round. Checked before anything is written.
  Status CheckConflicts(const std::string& src_host, const std::string& dst) {
    return WalkSelected(
        ctx_, src_host, p_.selector,
        [&dst](const std::string& rel, const struct stat& st) -> Status {
          std::string d = rel.empty() ? dst : dst + "/" + rel;
          struct stat cur;
          if (lstat(d.c_str(), &cur) != 0) return Status::Ok();
          if (S_ISDIR(st.st_mode) && !S_ISDIR(cur.st_mode)) {
            return InvalidArgument("cannot copy to non-directory: " + d);
          }
          if (!S_ISDIR(st.st_mode) && S_ISDIR(cur.st_mode)) {
            return InvalidArgument("cannot replace to directory " + d + " with file");
          }
          return Status::Ok();
        });
  }

  // modeStr is relative to each source entry's mode, so it is applied per entry after the copy
  // (chmod leaves the times CopyTree set alone). Children go first: a mode without search
  // permission on a directory must not lock out its own entries (it would, unprivileged).
  Status ApplyModeSet(const std::string& src_host, const std::string& dst, bool skip_root) {
    std::vector<std::pair<std::string, mode_t>> modes;  // in walk (pre-)order
    KILN_RETURN_IF_ERROR(WalkSelected(
        ctx_, src_host, p_.selector, [&](const std::string& rel, const struct stat& st) {
          if ((!rel.empty() || !skip_root) && !S_ISLNK(st.st_mode)) {
            modes.emplace_back(rel.empty() ? dst : dst + "/" + rel, p_.mode_set->Apply(st.st_mode));
          }
          return Status::Ok();
        }));
    for (auto it = modes.rbegin(); it != modes.rend(); ++it) {
      if (chmod(it->first.c_str(), it->second) != 0) return PathError(errno, "chmod", it->first);
    }
    return Status::Ok();
  }

  const Context& ctx_;
  const std::string& src_root_;
  const std::string& dest_root_;
  const Params& p_;
};

Result<Params> MakeParams(const pb::FileActionCopy& a, const UserResolver& users) {
  Params p;
  KILN_ASSIGN_OR_RETURN(p.owner, users.Resolve(OwnerOf(a)));
  if (!a.modestr().empty()) {
    KILN_ASSIGN_OR_RETURN(ModeSet ms, ModeSet::Parse(a.modestr()));
    p.mode_set = std::move(ms);
  } else if (a.mode() != -1) {
    p.mode = static_cast<uint32_t>(a.mode()) & 07777;
  }
  p.ts = TimestampOf(a.timestamp());
  std::vector<std::string> include(a.include_patterns().begin(), a.include_patterns().end());
  std::vector<std::string> exclude(a.exclude_patterns().begin(), a.exclude_patterns().end());
  KILN_ASSIGN_OR_RETURN(p.selector, Selector::Create(include, exclude));
  p.dir_contents = a.dircopycontents();
  p.follow = a.followsymlink();
  p.replace = a.alwaysreplaceexistingdestpaths();
  p.unpack = a.attemptunpackdockercompatibility();
  return p;
}

Status DoCopy(const Context& ctx, const std::string& src_root, const std::string& dest_root,
              const pb::FileActionCopy& a, const UserResolver& users) {
  const std::string src = CleanKeepingSlash(a.src());
  const std::string dest = CleanKeepingSlash(a.dest());
  if (!a.createdestpath()) {
    KILN_ASSIGN_OR_RETURN(std::string p, ResolveInRoot(dest_root, CleanPath(dest), true));
    std::string dir = p == dest_root ? p : std::string(Dir(p));
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0) {
      return PathError(errno, "lstat", dir).Annotate("failed to stat " + CleanPath(dest));
    }
  }
  KILN_ASSIGN_OR_RETURN(Params params, MakeParams(a, users));
  // Paths the copy must find in its source (COPY --parents without wildcards).
  for (const std::string& required : a.required_paths()) {
    KILN_ASSIGN_OR_RETURN(std::string p, ResolveInRoot(src_root, CleanPath(required), false));
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        return NotFound("\"" + CleanPath(required) + "\": not found");
      }
      return PathError(errno, "lstat", p);
    }
  }
  std::vector<std::string> matches{src};
  if (a.allowwildcard()) {
    KILN_ASSIGN_OR_RETURN(matches, ResolveWildcards(ctx, src_root, src, a.followsymlink()));
    if (matches.empty()) {
      if (a.allowemptywildcard()) return Status::Ok();
      return NotFound(CleanPath(src) + " not found");
    }
  }
  Copier copier(ctx, src_root, dest_root, params);
  for (const std::string& m : matches) {
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (params.unpack) {
      KILN_ASSIGN_OR_RETURN(bool unpacked, copier.Unpack(m, dest));
      if (unpacked) continue;
    }
    KILN_RETURN_IF_ERROR(copier.CopyOne(m, dest));
  }
  return Status::Ok();
}

}  // namespace

Status Copy(const Context& ctx, const std::string& src_root, const std::string& dest_root,
            const pb::FileActionCopy& action, const UserResolver& users) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  KILN_RETURN_IF_ERROR(CheckRoot(src_root));
  KILN_RETURN_IF_ERROR(CheckRoot(dest_root));
  const std::string sr = NormalizeRoot(src_root);
  const std::string dr = NormalizeRoot(dest_root);
  Status s = Scrub(DoCopy(ctx, sr, dr, action, users), {sr, dr});
  if (s.ok() || s.code() == Code::kCancelled || s.code() == Code::kDeadlineExceeded) return s;
  return s.Annotate("failed to copy files");
}

}  // namespace kiln::llbsolver::file
