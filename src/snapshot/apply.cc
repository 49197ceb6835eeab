#include "snapshot/apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string_view>
#include <unordered_set>

#include "snapshot/apply_lower.h"
#include "snapshot/entry_writer.h"
#include "snapshot/in_root.h"
#include "util/fs_copy.h"
#include "util/path.h"

namespace kiln::snapshot {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Under(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

// Splits a relative path into its directory ("" at the top) and last component.
void SplitLast(const std::string& rel, std::string* dir, std::string* base) {
  size_t slash = rel.rfind('/');
  *dir = slash == std::string::npos ? "" : rel.substr(0, slash);
  *base = slash == std::string::npos ? rel : rel.substr(slash + 1);
}

// A tar name as a clean path relative to the layer root ("" for the root). A leading "/" is
// dropped as containerd and GNU tar do; climbing out with ".." is refused.
Status LocalName(const std::string& raw, std::string* out) {
  std::string clean = CleanPath(raw);
  if (clean == ".." || StartsWith(clean, "../")) {
    return InvalidArgument("path escapes the snapshot");
  }
  if (clean[0] == '/') clean.erase(0, 1);
  if (clean == ".") clean.clear();
  *out = std::move(clean);
  return Status::Ok();
}

bool IsGone(const Status& s) {
  return s.code() == Code::kNotFound || s.code() == Code::kFailedPrecondition;
}

struct DirMeta {
  std::string rel;
  uint32_t perm;
  struct timespec ts[2];
};

class Applier {
 public:
  Applier(const Context& ctx, const ApplyOptions& opts, TreeRoot root, std::vector<TreeRoot> lowers)
      : ctx_(ctx),
        overlay_(opts.mode == ApplyMode::kOverlay),
        root_(std::move(root)),
        lowers_(std::move(lowers)) {
    implied_dir_ = [this](int pfd, const std::string& name, const std::string& rel) {
      return ImpliedDir(pfd, name, rel);
    };
    if (overlay_) {
      lower_link_ = [this](const std::string& rel) { return LowerLink(rel); };
    }
  }

  Result<ApplyStats> Run(LayerReader& r, const Digest& expected_diff_id) {
    for (;;) {
      KILN_RETURN_IF_ERROR(ctx_.Err());
      LayerEntry e;
      KILN_ASSIGN_OR_RETURN(bool more, r.Next(&e));
      if (!more) break;
      stats_.entries++;
      Status s = Entry(r, e);
      if (s.ok()) continue;
      if (s.code() == Code::kDataLoss || ctx_.cancelled()) return s;
      return s.Annotate("layer entry \"" + e.name + "\"");
    }
    KILN_ASSIGN_OR_RETURN(stats_.diff_id, r.Finish(ctx_));
    if (!expected_diff_id.empty() && stats_.diff_id != expected_diff_id) {
      return DataLoss("wrong diff ID: the image config says " + expected_diff_id.str() +
                      ", the layer's content is " + stats_.diff_id.str());
    }
    KILN_RETURN_IF_ERROR(FinishDirs());
    return stats_;
  }

 private:
  Status Entry(LayerReader& r, const LayerEntry& e) {
    std::string rel, parent, base;
    KILN_RETURN_IF_ERROR(LocalName(e.name, &rel));
    if (rel.empty()) return Status::Ok();  // the root keeps dest's own metadata, as containerd
    SplitLast(rel, &parent, &base);
    if (StartsWith(base, kWhiteoutPrefix)) {
      if (base == kOpaqueMarker) return Opaque(parent);
      if (StartsWith(base, kWhiteoutMetaPrefix)) return Status::Ok();  // AUFS metadata
      std::string target = base.substr(kWhiteoutPrefix.size());
      if (target.empty() || target == "." || target == "..") {
        return InvalidArgument("invalid whiteout " + base);
      }
      return Whiteout(parent, target);
    }
    if (StartsWith(rel, kWhiteoutMetaPrefix)) return Status::Ok();  // inside .wh..wh.plnk etc.

    KILN_ASSIGN_OR_RETURN(const TreeRoot::Dir* dir, Parent(parent));
    const int dfd = dir->fd.get();
    const std::string path = Under(dir->rel, base);
    struct stat st;
    bool exists = fstatat(dfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) return ErrnoStatus(errno, "lstat");
    bool merge_dir = exists && S_ISDIR(st.st_mode) && e.type == S_IFDIR && e.hardlink.empty();
    bool over_whiteout = whiteouts_.erase(path) > 0;
    if (exists && !merge_dir) {
      parent_valid_ = false;  // the removed entry may be on the cached path
      KILN_RETURN_IF_ERROR(RemoveAt(dfd, base));
    }
    if (!e.hardlink.empty()) {
      KILN_RETURN_IF_ERROR(Hardlink(dfd, base, e));
      MarkUnpacked(path);
      return Status::Ok();
    }
    if (e.type == S_IFREG) {
      KILN_RETURN_IF_ERROR(WriteFileContent(ctx_, r, dfd, base, e.size, &stats_.bytes));
    } else {
      if (e.type == S_IFLNK) parent_valid_ = false;
      KILN_RETURN_IF_ERROR(MakeNode(dfd, base, e));
    }
    KILN_RETURN_IF_ERROR(SetOwnerAndXattrs(dfd, base, e));
    struct timespec ts[2];
    EntryTimes(e, ts);
    if (e.type == S_IFDIR) {
      // A directory this layer deleted and made again hides the lower one's entries.
      if (over_whiteout) KILN_RETURN_IF_ERROR(SetXattrAt(dfd, base, kOverlayOpaqueXattr, "y"));
      dirs_.push_back(DirMeta{path, e.perm, {ts[0], ts[1]}});
    } else {
      KILN_RETURN_IF_ERROR(SetModeAndTimes(dfd, base, e.type == S_IFLNK, e.perm, ts));
    }
    MarkUnpacked(path);
    return Status::Ok();
  }

  // The directory `rel` (made, with its missing parents, when absent). The last one is cached:
  // tars list a directory's entries together. Removals and new symlinks drop the cache.
  Result<const TreeRoot::Dir*> Parent(const std::string& rel) {
    if (parent_valid_ && parent_key_ == rel) return &parent_;
    parent_valid_ = false;
    KILN_ASSIGN_OR_RETURN(parent_, root_.OpenDir(rel, true, implied_dir_, lower_link_));
    parent_key_ = rel;
    parent_valid_ = true;
    return &parent_;
  }

  // The target of the lower layers' symlink at `rel` when the upper has nothing there: a path
  // through it goes where it would in the merged view (and is refused if that is outside).
  Result<std::optional<std::string>> LowerLink(const std::string& rel) {
    std::string dir, base;
    size_t slash = rel.rfind('/');
    if (slash == std::string::npos) {
      base = rel;
    } else {
      dir = rel.substr(0, slash);
      base = rel.substr(slash + 1);
    }
    KILN_ASSIGN_OR_RETURN(auto lower, FindInLowers(lowers_, dir, base, /*want_dir=*/false));
    if (!lower || !S_ISLNK(lower->st.st_mode)) return std::optional<std::string>();
    std::string buf(4096, '\0');
    ssize_t n = readlinkat(lower->dir.fd.get(), base.c_str(), buf.data(), buf.size());
    if (n < 0) return ErrnoStatus(errno, "readlink " + rel + " in a lower layer");
    buf.resize(static_cast<size_t>(n));
    return std::optional<std::string>(std::move(buf));
  }

  // A directory the layer implies but has not listed (yet): 0755, or in overlay mode the
  // metadata of the first lower layer that has it (containerd's mkparent).
  Status ImpliedDir(int pfd, const std::string& name, const std::string& rel) {
    if (fchmodat(pfd, name.c_str(), 0755, 0) != 0) return ErrnoStatus(errno, "chmod " + rel);
    if (!overlay_) return Status::Ok();
    std::string dir, base;
    SplitLast(rel, &dir, &base);
    KILN_ASSIGN_OR_RETURN(auto lower, FindInLowers(lowers_, dir, base, /*want_dir=*/true));
    if (!lower) return Status::Ok();
    KILN_RETURN_IF_ERROR(CopyOwnerAndXattrs(*lower, base, pfd, name).Annotate(rel));
    dirs_.push_back(
        DirMeta{rel, lower->st.st_mode & 07777u, {lower->st.st_atim, lower->st.st_mtim}});
    return Status::Ok();
  }

  Status Whiteout(const std::string& parent, const std::string& name) {
    if (!overlay_) {
      auto d = root_.OpenDir(parent, false, nullptr, lower_link_);
      if (!d.ok()) return IsGone(d.status()) ? Status::Ok() : d.status();  // nothing to hide
      std::string path = Under(d->rel, name);
      if (unpacked_.count(path)) return Status::Ok();  // this layer's own entry stays
      parent_valid_ = false;
      KILN_RETURN_IF_ERROR(RemoveAt(d->fd.get(), name));
      MarkUnpacked(d->rel);
      return Status::Ok();
    }
    KILN_ASSIGN_OR_RETURN(const TreeRoot::Dir* d, Parent(parent));
    std::string path = Under(d->rel, name);
    if (unpacked_.count(path)) return Status::Ok();
    parent_valid_ = false;
    KILN_RETURN_IF_ERROR(RemoveAt(d->fd.get(), name));  // a copied-up hardlink target
    if (mknodat(d->fd.get(), name.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
      return ErrnoStatus(errno, "make whiteout " + path);
    }
    whiteouts_.insert(path);
    MarkUnpacked(d->rel);
    return Status::Ok();
  }

  Status Opaque(const std::string& rel) {
    KILN_ASSIGN_OR_RETURN(const TreeRoot::Dir* d, Parent(rel));
    MarkUnpacked(d->rel);
    if (overlay_) return SetXattrAt(d->fd.get(), "", kOverlayOpaqueXattr, "y");
    parent_valid_ = false;
    return PruneLower(d->fd.get(), d->rel);
  }

  // Removes what the lower layers have below the directory dir_fd (at rel): every entry that
  // this layer did not make and that is not on the way to one it made.
  Status PruneLower(int dir_fd, const std::string& rel) {
    KILN_ASSIGN_OR_RETURN(auto names, ReadDirNames(ProcPath(dir_fd, "")));
    for (const std::string& name : names) {
      KILN_RETURN_IF_ERROR(ctx_.Err());
      std::string child = Under(rel, name);
      if (!unpacked_.count(child)) {
        KILN_RETURN_IF_ERROR(RemoveAt(dir_fd, name));
        continue;
      }
      struct stat st;
      if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
        continue;
      }
      int fd = openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(errno, "open " + child);
      Fd sub(fd);
      KILN_RETURN_IF_ERROR(PruneLower(sub.get(), child));
    }
    return Status::Ok();
  }

  Status Hardlink(int dfd, const std::string& name, const LayerEntry& e) {
    std::string target, tdir, tbase;
    Status s = LocalName(e.hardlink, &target);
    if (!s.ok() || target.empty()) {
      return InvalidArgument("hardlink target \"" + e.hardlink + "\" escapes the snapshot");
    }
    SplitLast(target, &tdir, &tbase);
    auto td = root_.OpenDir(tdir, false, nullptr, lower_link_);
    struct stat st;
    bool found = td.ok() && fstatat(td->fd.get(), tbase.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (found && (whiteouts_.count(Under(td->rel, tbase)) || S_ISDIR(st.st_mode))) {
      return InvalidArgument("hardlink target \"" + e.hardlink + "\" is not a file");
    }
    if (!found && overlay_) {
      KILN_ASSIGN_OR_RETURN(found, CopyUpTarget(tdir, tbase));
      if (found) td = root_.OpenDir(tdir, false, nullptr, lower_link_);
    }
    if (!found || !td.ok()) {
      return NotFound("hardlink target \"" + e.hardlink + "\" does not exist");
    }
    if (linkat(td->fd.get(), tbase.c_str(), dfd, name.c_str(), 0) != 0) {
      return ErrnoStatus(errno, "hardlink to \"" + e.hardlink + "\"");
    }
    return Status::Ok();
  }

  // Overlay mode: copies the lower layers' file dir/base into dest so that it can be linked to.
  Result<bool> CopyUpTarget(const std::string& dir, const std::string& base) {
    KILN_ASSIGN_OR_RETURN(auto lower, FindInLowers(lowers_, dir, base, /*want_dir=*/false));
    if (!lower) return false;
    // Not through Parent(): the caller still uses the cached directory's fd.
    KILN_ASSIGN_OR_RETURN(TreeRoot::Dir ud, root_.OpenDir(dir, true, implied_dir_, lower_link_));
    KILN_RETURN_IF_ERROR(CopyUp(ctx_, *lower, base, ud.fd.get(), base));
    return true;
  }

  // Records rel and the directories leading to it as this layer's.
  void MarkUnpacked(std::string rel) {
    while (!rel.empty() && unpacked_.insert(rel).second) {
      size_t slash = rel.rfind('/');
      rel.erase(slash == std::string::npos ? 0 : slash);
    }
  }

  // Directory modes and times, now that nothing more is written into them.
  Status FinishDirs() {
    for (const DirMeta& m : dirs_) {
      auto d = root_.OpenDir(m.rel, false, nullptr, lower_link_);
      if (!d.ok()) {
        if (IsGone(d.status())) continue;  // replaced by a later entry
        return d.status();
      }
      if (d->rel != m.rel) continue;  // replaced by a symlink
      std::string p = ProcPath(d->fd.get(), "");
      if (chmod(p.c_str(), m.perm) != 0) return ErrnoStatus(errno, "chmod " + m.rel);
      if (utimensat(AT_FDCWD, p.c_str(), m.ts, 0) != 0) {
        return ErrnoStatus(errno, "set times of " + m.rel);
      }
    }
    return Status::Ok();
  }

  const Context& ctx_;
  const bool overlay_;
  TreeRoot root_;
  std::vector<TreeRoot> lowers_;
  ApplyStats stats_;
  std::unordered_set<std::string> unpacked_;   // real paths this layer made, and their parents
  std::unordered_set<std::string> whiteouts_;  // overlay mode: whiteouts this layer made
  std::vector<DirMeta> dirs_;
  MkdirHook implied_dir_;
  LowerLinkFn lower_link_;  // overlay mode: symlinks of the lower layers on a path are followed
  TreeRoot::Dir parent_;
  std::string parent_key_;
  bool parent_valid_ = false;
};

}  // namespace

Result<ApplyStats> ApplyLayer(const Context& ctx, const ByteSource& src, const std::string& dest,
                              const ApplyOptions& opts) {
  KILN_ASSIGN_OR_RETURN(TreeRoot root, TreeRoot::Open(dest));
  std::vector<TreeRoot> lowers;
  if (opts.mode == ApplyMode::kOverlay) {
    for (const auto& l : opts.lower_dirs) {
      KILN_ASSIGN_OR_RETURN(TreeRoot lr, TreeRoot::Open(l));
      lowers.push_back(std::move(lr));
    }
  }
  LayerReader reader(src);
  Applier applier(ctx, opts, std::move(root), std::move(lowers));
  return applier.Run(reader, opts.expected_diff_id);
}

Result<ApplyStats> ApplyLayerFile(const Context& ctx, const std::string& blob,
                                  const std::string& dest, const ApplyOptions& opts) {
  int fd = open(blob.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open layer " + blob);
  Fd closer(fd);
  return ApplyLayer(ctx, FdSource(fd), dest, opts);
}

Result<ApplyStats> ApplyLayerToSnapshot(const Context& ctx, Snapshotter& sn, const std::string& key,
                                        const ByteSource& src, const Digest& expected_diff_id) {
  ApplyOptions opts;
  opts.expected_diff_id = expected_diff_id;
  auto up = sn.UpperDir(key);
  if (up.ok()) {
    opts.mode = ApplyMode::kOverlay;
    opts.lower_dirs = up->lowers;
    return ApplyLayer(ctx, src, up->upper, opts);
  }
  if (up.status().code() != Code::kUnimplemented) return up.status();
  KILN_ASSIGN_OR_RETURN(auto mnt, sn.MountSnapshot(key, false));
  return ApplyLayer(ctx, src, mnt->path(), opts);
}

}  // namespace kiln::snapshot
