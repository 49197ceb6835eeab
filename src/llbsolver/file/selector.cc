#include "llbsolver/file/selector.h"

#include <cerrno>

#include "llbsolver/file/fs_ops.h"
#include "util/fs_copy.h"

namespace kiln::llbsolver::file {
namespace {

using fsutil::PatternMatcher;
using Visit = std::function<Status(const std::string& rel, const struct stat& st)>;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Directories entered but not written yet: written just before their first taken descendant.
struct Pending {
  std::string rel;
  struct stat st;
  bool visited = false;
};

class Walker {
 public:
  Walker(const Context& ctx, const Selector& sel, const Visit& visit)
      : ctx_(ctx), sel_(sel), visit_(visit) {}

  Status Walk(const std::string& dir, const std::string& rel_dir) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir));
    for (const std::string& name : names) {
      KILN_RETURN_IF_ERROR(ctx_.Err());
      std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      std::string host = dir + "/" + name;
      struct stat st;
      if (lstat(host.c_str(), &st) != 0) return PathError(errno, "lstat", host);
      if (S_ISSOCK(st.st_mode)) continue;  // the copy skips sockets
      bool take = sel_.empty() || sel_.Take(rel);
      if (take) {
        KILN_RETURN_IF_ERROR(Flush());
        KILN_RETURN_IF_ERROR(visit_(rel, st));
        if (S_ISDIR(st.st_mode)) KILN_RETURN_IF_ERROR(Walk(host, rel));
      } else if (S_ISDIR(st.st_mode) && sel_.Search(rel)) {
        pending_.push_back(Pending{rel, st});
        Status s = Walk(host, rel);
        pending_.pop_back();
        KILN_RETURN_IF_ERROR(s);
      }
    }
    return Status::Ok();
  }

 private:
  Status Flush() {
    for (Pending& p : pending_) {
      if (p.visited) continue;
      KILN_RETURN_IF_ERROR(visit_(p.rel, p.st));
      p.visited = true;
    }
    return Status::Ok();
  }

  const Context& ctx_;
  const Selector& sel_;
  const Visit& visit_;
  std::vector<Pending> pending_;
};

}  // namespace

Result<Selector> Selector::Create(const std::vector<std::string>& include,
                                  const std::vector<std::string>& exclude) {
  Selector s;
  Result<PatternMatcher> inc = PatternMatcher::Create(include);
  if (!inc.ok()) {
    return InvalidArgument("invalid include patterns [" + Join(include) +
                           "]: " + inc.status().message());
  }
  Result<PatternMatcher> exc = PatternMatcher::Create(exclude);
  if (!exc.ok()) {
    return InvalidArgument("invalid exclude patterns [" + Join(exclude) +
                           "]: " + exc.status().message());
  }
  s.include_ = std::move(inc).value();
  s.exclude_ = std::move(exc).value();
  return s;
}

bool Selector::Included(std::string_view rel) const {
  return include_.empty() || include_.MatchesOrParentMatches(rel);
}

bool Selector::Excluded(std::string_view rel) const {
  return !exclude_.empty() && exclude_.MatchesOrParentMatches(rel);
}

bool Selector::Take(std::string_view rel) const { return Included(rel) && !Excluded(rel); }

bool Selector::Search(std::string_view rel) const {
  bool may_include =
      Included(rel) || include_.MayMatchInside(rel, PatternMatcher::PatternSet::kInclusions);
  bool may_not_exclude =
      !Excluded(rel) || (exclude_.has_exceptions() &&
                         exclude_.MayMatchInside(rel, PatternMatcher::PatternSet::kExceptions));
  return may_include && may_not_exclude;
}

Status WalkSelected(const Context& ctx, const std::string& src, const Selector& selector,
                    const Visit& visit) {
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) return PathError(errno, "lstat", src);
  if (S_ISSOCK(st.st_mode)) return Status::Ok();
  KILN_RETURN_IF_ERROR(visit("", st));
  if (!S_ISDIR(st.st_mode)) return Status::Ok();
  Walker w(ctx, selector, visit);
  return w.Walk(src, "");
}

}  // namespace kiln::llbsolver::file
