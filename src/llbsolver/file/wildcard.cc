#include "llbsolver/file/wildcard.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "llbsolver/file/fs_ops.h"
#include "util/fs_copy.h"
#include "util/path.h"

namespace kiln::llbsolver::file {
namespace {

// Walks dir (host path) for entries whose path relative to the walk's base matches pattern.
class Matcher {
 public:
  Matcher(const Context& ctx, const std::string& pattern, std::string base_in_root)
      : ctx_(ctx),
        pattern_(pattern),
        depth_(1 + static_cast<size_t>(std::count(pattern.begin(), pattern.end(), '/'))),
        base_in_root_(std::move(base_in_root)) {}

  Status Walk(const std::string& dir, const std::string& rel_dir, size_t depth) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir));
    for (const std::string& name : names) {
      KILN_RETURN_IF_ERROR(ctx_.Err());
      std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      std::string host = dir + "/" + name;
      struct stat st;
      if (lstat(host.c_str(), &st) != 0) return PathError(errno, "lstat", host);
      if (fnmatch(pattern_.c_str(), rel.c_str(), FNM_PATHNAME) == 0) {
        matches_.push_back(base_in_root_ == "/" ? "/" + rel : base_in_root_ + "/" + rel);
        continue;  // a matching directory is taken whole
      }
      // '*' never crosses '/', so nothing deeper than the pattern can match.
      if (S_ISDIR(st.st_mode) && depth + 1 < depth_) {
        KILN_RETURN_IF_ERROR(Walk(host, rel, depth + 1));
      }
    }
    return Status::Ok();
  }

  std::vector<std::string> TakeMatches() { return std::move(matches_); }

 private:
  const Context& ctx_;
  const std::string& pattern_;
  size_t depth_;  // components in the pattern
  std::string base_in_root_;
  std::vector<std::string> matches_;
};

}  // namespace

bool ContainsWildcards(std::string_view name) {
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c == '\\') {
      i++;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

std::pair<std::string, std::string> SplitWildcards(std::string_view path) {
  std::string clean = CleanPath(path);
  std::string before = clean[0] == '/' ? "/" : "";
  std::string rest;
  bool found = false;
  size_t i = 0;
  while (i <= clean.size()) {
    size_t j = clean.find('/', i);
    if (j == std::string::npos) j = clean.size();
    std::string_view part = std::string_view(clean).substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;
    found = found || ContainsWildcards(part);
    std::string& out = found ? rest : before;
    if (!out.empty() && out.back() != '/') out += '/';
    out += part;
  }
  if (before.empty() && !found) before = ".";
  return {before, rest};
}

Result<std::vector<std::string>> ResolveWildcards(const Context& ctx, const std::string& root,
                                                  std::string_view pattern, bool follow_links) {
  auto [before, rest] = SplitWildcards(pattern);
  std::string base = CleanPath("/" + before);
  if (rest.empty()) return std::vector<std::string>{base};
  KILN_ASSIGN_OR_RETURN(std::string host, ResolveInRoot(root, base, follow_links));
  struct stat st;
  if (lstat(host.c_str(), &st) != 0) return PathError(errno, "lstat", host);
  if (!S_ISDIR(st.st_mode)) return std::vector<std::string>{};
  Matcher m(ctx, rest, InRoot(root, host));
  KILN_RETURN_IF_ERROR(m.Walk(host, "", 0));
  return m.TakeMatches();
}

}  // namespace kiln::llbsolver::file
