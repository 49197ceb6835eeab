#include "cache/contenthash.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "util/fs_copy.h"
#include "util/path.h"

namespace kiln::cache {
namespace {

// Bump when the hashed layout changes: digests are persisted in cache keys.
constexpr std::string_view kEntryVersion = "kiln.contenthash.v1";
constexpr std::string_view kWildcardVersion = "kiln.contenthash.wildcard.v1";

// Length-prefixed, so that no two sequences of parts hash alike.
void AddPart(Sha256& h, std::string_view part) {
  h.Update(std::to_string(part.size()) + ":");
  h.Update(part);
}

bool IsCoveredXattr(std::string_view name) {
  return name.substr(0, 5) == "user." || name == "security.capability";
}

std::string_view TypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "dir";
    case S_IFLNK:
      return "symlink";
    case S_IFCHR:
      return "char";
    case S_IFBLK:
      return "block";
    case S_IFIFO:
      return "fifo";
    default:
      return "socket";
  }
}

// Everything but content and children: type, mode, owner, link target, device, xattrs.
Status HashHeader(Sha256& h, const std::string& path, const struct stat& st) {
  AddPart(h, kEntryVersion);
  AddPart(h, TypeName(st.st_mode));
  AddPart(h, std::to_string(st.st_mode & 07777));
  AddPart(h, std::to_string(st.st_uid));
  AddPart(h, std::to_string(st.st_gid));
  std::string target;
  if (S_ISLNK(st.st_mode)) {
    target.resize(static_cast<size_t>(st.st_size) + 1);
    ssize_t n = readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoStatus(errno, "checksum: readlink " + path);
    target.resize(static_cast<size_t>(n));
  }
  AddPart(h, target);
  bool dev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode);
  AddPart(h, std::to_string(dev ? major(st.st_rdev) : 0));
  AddPart(h, std::to_string(dev ? minor(st.st_rdev) : 0));
  KILN_ASSIGN_OR_RETURN(std::vector<Xattr> xattrs, ReadXattrs(path));  // sorted by name
  for (const Xattr& x : xattrs) {
    if (!IsCoveredXattr(x.name)) continue;
    AddPart(h, x.name);
    AddPart(h, x.value);
  }
  AddPart(h, "");  // end of xattrs (no xattr has an empty name)
  return Status::Ok();
}

// One checksum walk. Directories skipped by the filter are descended into when
// may_contain_matches says so and count only if something below them is included, as in
// CopyTree.
class Hasher {
 public:
  Hasher(const Context& ctx, const ChecksumOptions& opts) : ctx_(ctx), opts_(opts) {}

  // Digest of the entry at path; nullopt for an excluded directory with nothing included below.
  Result<std::optional<Digest>> Entry(const std::string& path, const std::string& rel,
                                      const struct stat& st, bool include) {
    KILN_RETURN_IF_ERROR(ctx_.Err());
    Sha256 h;
    KILN_RETURN_IF_ERROR(HashHeader(h, path, st));
    if (S_ISREG(st.st_mode)) {
      std::optional<Digest> known;
      if (opts_.known_content) known = opts_.known_content(rel);
      if (!known) {
        KILN_ASSIGN_OR_RETURN(known, Content(path));
      }
      AddPart(h, known->str());
    } else if (S_ISDIR(st.st_mode)) {
      KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(path));
      size_t included = 0;
      for (const std::string& name : names) {
        std::string child = path + "/" + name;
        std::string child_rel = rel.empty() ? name : rel + "/" + name;
        struct stat cst;
        if (lstat(child.c_str(), &cst) != 0) return ErrnoStatus(errno, "checksum: lstat " + child);
        if (S_ISSOCK(cst.st_mode)) continue;
        bool is_dir = S_ISDIR(cst.st_mode);
        bool inc = !opts_.filter || opts_.filter(child_rel, is_dir);
        bool descend =
            is_dir && !inc && opts_.may_contain_matches && opts_.may_contain_matches(child_rel);
        if (!inc && !descend) continue;
        KILN_ASSIGN_OR_RETURN(std::optional<Digest> d, Entry(child, child_rel, cst, inc));
        if (!d) continue;
        AddPart(h, name);
        AddPart(h, d->str());
        included++;
      }
      if (!include && included == 0) return std::optional<Digest>();
    }
    return std::optional<Digest>(h.Final());
  }

 private:
  Result<Digest> Content(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "checksum: open " + path);
    buf_.resize(1u << 20);
    Sha256 h;
    Status s;
    for (;;) {
      s = ctx_.Err();
      if (!s.ok()) break;
      ssize_t n = read(fd, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) s = ErrnoStatus(errno, "checksum: read " + path);
      if (n <= 0) break;
      h.Update(buf_.data(), static_cast<size_t>(n));
    }
    close(fd);
    if (!s.ok()) return s;
    return h.Final();
  }

  const Context& ctx_;
  const ChecksumOptions& opts_;
  std::vector<char> buf_;
};

// Checksum of the host path `resolved`, reported as `display` (the path inside root).
Result<Digest> ChecksumHostPath(const Context& ctx, const std::string& resolved,
                                const std::string& display, const ChecksumOptions& opts) {
  struct stat st;
  if (lstat(resolved.c_str(), &st) != 0) {
    // As BuildKit: the path inside the ref, never the host path.
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("\"" + display + "\": not found");
    return ErrnoStatus(errno, "checksum " + display);
  }
  Hasher hasher(ctx, opts);
  KILN_ASSIGN_OR_RETURN(std::optional<Digest> d, hasher.Entry(resolved, "", st, true));
  KILN_CHECK(d.has_value());  // an included entry always has a digest
  return *d;
}

bool HasMeta(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

// Expands the glob components of clean (rooted at "/") into the sorted paths they match.
Result<std::vector<std::string>> ExpandWildcard(const std::string& root, const std::string& clean) {
  std::vector<std::string> cands = {""};
  size_t i = 1;
  while (i < clean.size()) {
    size_t j = std::min(clean.find('/', i), clean.size());
    std::string comp = clean.substr(i, j - i);
    i = j + 1;
    std::vector<std::string> next;
    for (const std::string& cand : cands) {
      if (!HasMeta(comp)) {
        next.push_back(cand + "/" + comp);
        continue;
      }
      KILN_ASSIGN_OR_RETURN(std::string dir, ResolveInRoot(root, cand.empty() ? "/" : cand, true));
      struct stat st;
      if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir));
      for (const std::string& name : names) {
        if (fnmatch(comp.c_str(), name.c_str(), 0) == 0) next.push_back(cand + "/" + name);
      }
    }
    cands = std::move(next);
  }
  std::sort(cands.begin(), cands.end());
  return cands;
}

Result<Digest> ChecksumWildcard(const Context& ctx, const std::string& root,
                                const std::string& clean, const ChecksumOptions& opts) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> matches, ExpandWildcard(root, clean));
  Sha256 h;
  AddPart(h, kWildcardVersion);
  size_t found = 0;
  for (const std::string& m : matches) {
    KILN_ASSIGN_OR_RETURN(std::string resolved, ResolveInRoot(root, m, opts.follow_links));
    struct stat st;
    if (lstat(resolved.c_str(), &st) != 0 && errno == ENOENT) continue;  // literal part missing
    KILN_ASSIGN_OR_RETURN(Digest d, ChecksumHostPath(ctx, resolved, m, opts));
    AddPart(h, m);
    AddPart(h, d.str());
    found++;
  }
  if (found == 0) return Digest::FromBytes("");
  return h.Final();
}

std::string OptionsKey(const ChecksumOptions& opts) {
  return std::string("follow=") + (opts.follow_links ? "1" : "0") +
         " wildcard=" + (opts.wildcard ? "1" : "0") + " filter=" + opts.filter_key;
}

}  // namespace

Result<Digest> Checksum(const Context& ctx, const std::string& root, std::string_view path,
                        const ChecksumOptions& opts) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  std::string clean = CleanPath("/" + std::string(path));
  if (opts.wildcard && HasMeta(clean)) return ChecksumWildcard(ctx, root, clean, opts);
  KILN_ASSIGN_OR_RETURN(std::string resolved, ResolveInRoot(root, clean, opts.follow_links));
  return ChecksumHostPath(ctx, resolved, clean, opts);
}

namespace {
bool Cacheable(const ChecksumOptions& opts) {
  return !opts.filter_key.empty() || (!opts.filter && !opts.may_contain_matches);
}
}  // namespace

std::optional<Digest> ChecksumCache::Cached(const std::string& root_id, std::string_view path,
                                            const ChecksumOptions& opts) const {
  if (!Cacheable(opts)) return std::nullopt;
  Key key{root_id, CleanPath("/" + std::string(path)), OptionsKey(opts)};
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

Result<Digest> ChecksumCache::Checksum(const Context& ctx, const std::string& root_id,
                                       const std::string& root, std::string_view path,
                                       const ChecksumOptions& opts) {
  bool cacheable = Cacheable(opts);
  Key key{root_id, CleanPath("/" + std::string(path)), OptionsKey(opts)};
  if (auto hit = Cached(root_id, path, opts)) return *hit;
  // Computed without the lock: a slow tree must not stall lookups on other refs.
  KILN_ASSIGN_OR_RETURN(Digest d, cache::Checksum(ctx, root, path, opts));
  if (cacheable) {
    std::lock_guard<std::mutex> l(mu_);
    entries_.emplace(std::move(key), d);
  }
  return d;
}

void ChecksumCache::Forget(const std::string& root_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto first = entries_.lower_bound(Key{root_id, "", ""});
  auto last = first;
  while (last != entries_.end() && last->first.root_id == root_id) ++last;
  entries_.erase(first, last);
}

size_t ChecksumCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

}  // namespace kiln::cache
