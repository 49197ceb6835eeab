#include "llbsolver/diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "util/fs_copy.h"

namespace kiln::llbsolver {
namespace {

bool SameContent(const std::string& a, const std::string& b) {
  int fa = open(a.c_str(), O_RDONLY | O_CLOEXEC);
  int fb = open(b.c_str(), O_RDONLY | O_CLOEXEC);
  bool same = fa >= 0 && fb >= 0;
  char ba[65536], bb[65536];
  while (same) {
    ssize_t na = read(fa, ba, sizeof(ba));
    ssize_t nb = read(fb, bb, sizeof(bb));
    if (na != nb || na < 0) {
      same = false;
      break;
    }
    if (na == 0) break;
    if (memcmp(ba, bb, static_cast<size_t>(na)) != 0) same = false;
  }
  if (fa >= 0) close(fa);
  if (fb >= 0) close(fb);
  return same;
}

std::string LinkTarget(const std::string& p) {
  char buf[4096];
  ssize_t n = readlink(p.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool Changed(const std::string& lp, const struct stat& ls, const std::string& up, const struct stat& us) {
  if ((ls.st_mode & S_IFMT) != (us.st_mode & S_IFMT)) return true;
  if (ls.st_mode != us.st_mode || ls.st_uid != us.st_uid || ls.st_gid != us.st_gid) return true;
  if (S_ISLNK(us.st_mode)) return LinkTarget(lp) != LinkTarget(up);
  if (S_ISCHR(us.st_mode) || S_ISBLK(us.st_mode)) return ls.st_rdev != us.st_rdev;
  auto lx = ReadXattrs(lp);
  auto ux = ReadXattrs(up);
  if (lx.ok() != ux.ok() || (lx.ok() && *lx != *ux)) return true;
  if (S_ISDIR(us.st_mode)) return false;  // a dir's own metadata only; children are walked
  if (ls.st_size != us.st_size) return true;
  if (ls.st_mtim.tv_sec == us.st_mtim.tv_sec && ls.st_mtim.tv_nsec == us.st_mtim.tv_nsec) return false;
  return S_ISREG(us.st_mode) && !SameContent(lp, up);
}

// Creates out+rel and its parents as copies of upper's directories (metadata only).
Status EnsureParents(const Context& ctx, const std::string& upper, const std::string& out,
                     const std::string& rel) {
  if (rel.empty()) return Status::Ok();
  std::string parent = rel.substr(0, rel.rfind('/'));
  KILN_RETURN_IF_ERROR(EnsureParents(ctx, upper, out, parent));
  struct stat st;
  if (lstat((out + rel).c_str(), &st) == 0) return Status::Ok();
  CopyOptions o;
  o.filter = [](std::string_view, bool) { return false; };
  o.may_contain_matches = [](std::string_view) { return false; };
  return CopyTree(ctx, upper + rel, out + rel, o);
}

Status Walk(const Context& ctx, const std::string& lower, const std::string& upper,
            const std::string& out, const std::string& rel, std::vector<std::string>* whiteouts) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  std::string ldir = lower + rel, udir = upper + rel;
  KILN_ASSIGN_OR_RETURN(auto unames, ReadDirNames(udir));
  std::vector<std::string> lnames;
  struct stat lds;
  if (lstat(ldir.c_str(), &lds) == 0 && S_ISDIR(lds.st_mode)) {
    KILN_ASSIGN_OR_RETURN(lnames, ReadDirNames(ldir));
  }
  std::set<std::string> uset(unames.begin(), unames.end());
  for (const auto& n : lnames) {
    if (!uset.count(n)) whiteouts->push_back(rel + "/" + n);
  }
  for (const auto& n : unames) {
    std::string r = rel + "/" + n;
    struct stat us, ls;
    if (lstat((upper + r).c_str(), &us) != 0) return ErrnoStatus(errno, "diff: stat " + r);
    bool in_lower = lstat((lower + r).c_str(), &ls) == 0;
    if (!in_lower || (S_ISDIR(us.st_mode) != S_ISDIR(ls.st_mode))) {
      KILN_RETURN_IF_ERROR(EnsureParents(ctx, upper, out, rel));
      KILN_RETURN_IF_ERROR(CopyTree(ctx, upper + r, out + r, CopyOptions{}));
      continue;
    }
    if (S_ISDIR(us.st_mode)) {
      if (Changed(lower + r, ls, upper + r, us)) {
        KILN_RETURN_IF_ERROR(EnsureParents(ctx, upper, out, r));
      }
      KILN_RETURN_IF_ERROR(Walk(ctx, lower, upper, out, r, whiteouts));
      continue;
    }
    if (Changed(lower + r, ls, upper + r, us)) {
      KILN_RETURN_IF_ERROR(EnsureParents(ctx, upper, out, rel));
      KILN_RETURN_IF_ERROR(CopyTree(ctx, upper + r, out + r, CopyOptions{}));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> WriteDiff(const Context& ctx, const std::string& lower,
                                           const std::string& upper, const std::string& out) {
  std::vector<std::string> whiteouts;
  KILN_RETURN_IF_ERROR(Walk(ctx, lower, upper, out, "", &whiteouts));
  return whiteouts;
}

}  // namespace kiln::llbsolver
