#include "layer/change_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace kiln::layer::internal {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Result<std::string> ReadLink(const std::string& path) {
  std::string target(4096, '\0');
  ssize_t n = readlink(path.c_str(), target.data(), target.size());
  if (n < 0) return ErrnoStatus(errno, "readlink " + path);
  target.resize(static_cast<size_t>(n));
  return target;
}

// Reads up to n bytes (fewer only at the end of the file).
Result<size_t> ReadFull(int fd, char* buf, size_t n, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus(errno, "read " + path);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

Result<bool> SameContent(const Context& ctx, const std::string& a, const std::string& b) {
  int fa = open(a.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fa < 0) return ErrnoStatus(errno, "open " + a);
  int fb = open(b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fb < 0) {
    int err = errno;
    close(fa);
    return ErrnoStatus(err, "open " + b);
  }
  constexpr size_t kChunk = 64 * 1024;
  std::vector<char> ba(kChunk), bb(kChunk);
  Result<bool> same = true;
  for (;;) {
    if (Status s = ctx.Err(); !s.ok()) {
      same = s;
      break;
    }
    Result<size_t> na = ReadFull(fa, ba.data(), kChunk, a);
    Result<size_t> nb = ReadFull(fb, bb.data(), kChunk, b);
    if (!na.ok() || !nb.ok()) {
      same = !na.ok() ? na.status() : nb.status();
      break;
    }
    if (*na != *nb || memcmp(ba.data(), bb.data(), *na) != 0) {
      same = false;
      break;
    }
    if (*na < kChunk) break;
  }
  close(fa);
  close(fb);
  return same;
}

}  // namespace

bool KeepXattr(const DiffOptions& opts, std::string_view name) {
  if (StartsWith(name, "trusted.overlay.") || StartsWith(name, "user.overlay.")) return false;
  return opts.xattr_filter ? opts.xattr_filter(name) : name == "security.capability";
}

Result<std::vector<Xattr>> LayerXattrs(const DiffOptions& opts, const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<Xattr> all, ReadXattrs(path));
  std::vector<Xattr> kept;
  for (Xattr& x : all) {
    if (KeepXattr(opts, x.name)) kept.push_back(std::move(x));
  }
  return kept;
}

Result<bool> SameEntry(const Context& ctx, const DiffOptions& opts, const std::string& a,
                       const struct stat& sa, const std::string& b, const struct stat& sb) {
  if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) return true;
  if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid ||
      sa.st_rdev != sb.st_rdev) {
    return false;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xa, LayerXattrs(opts, a));
  KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xb, LayerXattrs(opts, b));
  if (xa != xb) return false;
  if (S_ISDIR(sa.st_mode)) return true;
  if (sa.st_size != sb.st_size || sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
      sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) {
    return false;
  }
  if (S_ISLNK(sa.st_mode)) {
    KILN_ASSIGN_OR_RETURN(std::string ta, ReadLink(a));
    KILN_ASSIGN_OR_RETURN(std::string tb, ReadLink(b));
    return ta == tb;
  }
  // Equal times without nanoseconds may both come from a tar's whole seconds: look inside.
  if (S_ISREG(sa.st_mode) && sa.st_mtim.tv_nsec == 0 && sa.st_size > 0) {
    return SameContent(ctx, a, b);
  }
  return true;
}

ChangeWriter::ChangeWriter(const Context& ctx, const DiffOptions& opts, std::string source,
                           const ByteSink& sink)
    : ctx_(ctx), opts_(opts), source_(std::move(source)), w_(sink) {}

Result<TarHeader> ChangeWriter::Header(const std::string& rel, const struct stat& st) {
  TarHeader h;
  std::string path = source_ + "/" + rel;
  KILN_RETURN_IF_ERROR(TarHeaderFromStat(path, rel, st, &h));
  // Later than the epoch becomes the epoch; then whole seconds, as containerd writes them.
  if (opts_.clamp_mtime &&
      (h.mtime_sec > *opts_.clamp_mtime || (h.mtime_sec == *opts_.clamp_mtime && h.mtime_nsec))) {
    h.mtime_sec = *opts_.clamp_mtime;
  }
  h.mtime_nsec = 0;
  KILN_ASSIGN_OR_RETURN(h.xattrs, LayerXattrs(opts_, path));
  return h;
}

Status ChangeWriter::Change(ChangeKind kind, const std::string& rel, const struct stat& st) {
  KILN_RETURN_IF_ERROR(ctx_.Err());
  if (S_ISSOCK(st.st_mode)) return Status::Ok();
  std::vector<std::string> waiting;
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    std::pair<dev_t, ino_t> key{st.st_dev, st.st_ino};
    if (auto it = link_source_.find(key); it != link_source_.end()) {
      KILN_ASSIGN_OR_RETURN(TarHeader h, Header(rel, st));
      h.type = TarType::kHardlink;
      h.linkname = it->second;
      h.size = 0;
      h.devmajor = h.devminor = 0;
      KILN_RETURN_IF_ERROR(IncludeParents(rel));
      stats_.entries++;
      return w_.WriteHeader(h);
    }
    if (kind == ChangeKind::kUnmodified) {
      link_waiting_[key].push_back(rel);
      return Status::Ok();
    }
    link_source_.emplace(key, rel);
    if (auto it = link_waiting_.find(key); it != link_waiting_.end()) {
      waiting = std::move(it->second);
      link_waiting_.erase(it);
    }
  } else if (kind == ChangeKind::kUnmodified) {
    return Status::Ok();
  }
  KILN_ASSIGN_OR_RETURN(TarHeader h, Header(rel, st));
  KILN_RETURN_IF_ERROR(IncludeParents(rel));
  if (S_ISDIR(st.st_mode)) added_dirs_.insert(rel);
  stats_.entries++;
  if (h.type == TarType::kRegular) {
    KILN_RETURN_IF_ERROR(w_.WriteFile(ctx_, h, source_ + "/" + rel));
  } else {
    KILN_RETURN_IF_ERROR(w_.WriteHeader(h));
  }
  for (const std::string& link : waiting) {
    TarHeader l = h;
    l.name = link;
    l.type = TarType::kHardlink;
    l.linkname = rel;
    l.size = 0;
    l.devmajor = l.devminor = 0;
    KILN_RETURN_IF_ERROR(IncludeParents(link));
    stats_.entries++;
    KILN_RETURN_IF_ERROR(w_.WriteHeader(l));
  }
  return Status::Ok();
}

Status ChangeWriter::Delete(const std::string& rel) {
  size_t slash = rel.rfind('/');
  std::string name = slash == std::string::npos
                         ? ".wh." + rel
                         : rel.substr(0, slash + 1) + ".wh." + rel.substr(slash + 1);
  return WriteWhiteout(name);
}

Status ChangeWriter::Opaque(const std::string& rel) { return WriteWhiteout(rel + "/.wh..wh..opq"); }

Status ChangeWriter::WriteWhiteout(const std::string& name) {
  KILN_RETURN_IF_ERROR(ctx_.Err());
  KILN_RETURN_IF_ERROR(IncludeParents(name));
  TarHeader h;  // empty regular file, mode 0, owner 0:0, mtime 0 (containerd 2)
  h.name = name;
  stats_.entries++;
  stats_.whiteouts++;
  return w_.WriteHeader(h);
}

Status ChangeWriter::IncludeParents(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return Status::Ok();
  std::string parent = rel.substr(0, slash);
  if (!added_dirs_.insert(parent).second) return Status::Ok();
  std::string path = source_ + "/" + parent;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "lstat " + path);
  return Change(ChangeKind::kModify, parent, st);
}

Result<DiffStats> ChangeWriter::Close() {
  KILN_RETURN_IF_ERROR(w_.Close());
  return stats_;
}

}  // namespace kiln::layer::internal
