#include "fsutil/follow_links.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "fsutil/glob.h"
#include "util/path.h"

namespace kiln::fsutil::internal {

namespace {

bool NotFound(int err) { return err == ENOENT || err == ENOTDIR; }

std::string Join(std::string_view a, std::string_view b) {
  if (a.empty() || a == ".") return CleanPath(b);
  if (b.empty()) return CleanPath(a);
  return CleanPath(std::string(a) + "/" + std::string(b));
}

// Root-relative clean path; ".." cannot climb above the root.
std::string RootRelative(std::string_view p) {
  std::string c = CleanPath("/" + std::string(p));
  return c == "/" ? "." : c.substr(1);
}

class SymlinkResolver {
 public:
  explicit SymlinkResolver(std::string root) : root_(std::move(root)) {}

  Status Append(std::string_view path) {
    std::string p = RootRelative(path);
    std::string current = ".";
    while (true) {
      size_t slash = p.find('/');
      std::string first = p.substr(0, slash);
      std::string rest = slash == std::string::npos ? "" : p.substr(slash + 1);
      current = Join(current, first);
      KILN_ASSIGN_OR_RETURN(std::vector<std::string> targets, ReadSymlink(current, true));
      p = rest;
      if ((p.empty() || !targets.empty()) && resolved_.contains(current)) return Status::Ok();
      if (!targets.empty()) {
        resolved_.insert(current);
        for (const std::string& t : targets) KILN_RETURN_IF_ERROR(Append(Join(t, p)));
        return Status::Ok();
      }
      if (p.empty()) {
        resolved_.insert(current);
        return Status::Ok();
      }
    }
  }

  std::vector<std::string> resolved() const { return {resolved_.begin(), resolved_.end()}; }

 private:
  std::string Host(std::string_view rel) const {
    return rel == "." ? root_ : root_ + "/" + std::string(rel);
  }

  // Targets of the symlink at p (root-rooted paths), or of every symlink matching a wildcard
  // last component. Empty when p is missing or not a symlink.
  Result<std::vector<std::string>> ReadSymlink(const std::string& p, bool allow_wildcard) {
    std::vector<std::string> out;
    std::string base(Base(p));
    std::string dir(Dir(p));
    if (allow_wildcard && ContainsWildcards(base)) {
      DIR* d = opendir(Host(dir).c_str());
      if (d == nullptr) {
        if (NotFound(errno)) return out;
        return ErrnoStatus(errno, "readdir " + dir);
      }
      std::vector<std::string> names;
      while (dirent* e = readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
      }
      closedir(d);
      std::sort(names.begin(), names.end());
      Result<Glob> glob = CompileComponentGlob(base);
      if (!glob.ok()) return out;
      for (const std::string& name : names) {
        if (!glob->Match(name)) continue;
        KILN_ASSIGN_OR_RETURN(std::vector<std::string> t, ReadSymlink(Join(dir, name), false));
        out.insert(out.end(), t.begin(), t.end());
      }
      return out;
    }
    if (p == ".") return out;
    std::string host = Host(p);
    struct stat st;
    if (lstat(host.c_str(), &st) != 0) {
      if (NotFound(errno)) return out;
      return ErrnoStatus(errno, "lstat " + p);
    }
    if (!S_ISLNK(st.st_mode)) return out;
    std::string target(static_cast<size_t>(st.st_size) + 256, '\0');
    ssize_t n = readlink(host.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoStatus(errno, "readlink " + p);
    target.resize(static_cast<size_t>(n));
    std::string link = CleanPath(target);
    if (!link.empty() && link[0] == '/') {
      out.push_back(link);
    } else {
      out.push_back(CleanPath("/" + Join(dir, link)));
    }
    return out;
  }

  std::string root_;
  std::set<std::string> resolved_;
};

}  // namespace

std::optional<std::vector<std::string>> DedupePaths(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  std::string last;
  for (const std::string& s : in) {
    if (s == ".") return std::nullopt;
    if (s.starts_with(last + "/")) continue;
    out.push_back(s);
    last = s;
  }
  return out;
}

Result<std::optional<std::vector<std::string>>> FollowLinks(const std::string& root,
                                                            const std::vector<std::string>& paths) {
  SymlinkResolver r(root);
  for (const std::string& p : paths) {
    KILN_RETURN_IF_ERROR(r.Append(p).Annotate("resolve follow path " + p));
  }
  return DedupePaths(r.resolved());
}

}  // namespace kiln::fsutil::internal
