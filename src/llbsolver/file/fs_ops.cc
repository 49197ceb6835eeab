#include "llbsolver/file/fs_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace kiln::llbsolver::file {
namespace {

// Characters that end a path inside an error message.
bool EndsPath(char c) {
  return c == ' ' || c == ':' || c == '"' || c == '\'' || c == ',' || c == '(' || c == ')' ||
         c == '\n' || c == '\t';
}

}  // namespace

Status CheckRoot(std::string_view root) {
  if (root.empty()) return InvalidArgument("file action: empty root directory");
  return Status::Ok();
}

std::string NormalizeRoot(std::string_view root) {
  std::string r(root);
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

Status PathError(int err, std::string_view op, std::string_view path) {
  std::string reason = std::strerror(err);
  if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
  Code code = ErrnoStatus(err, "").code();
  return Status(code, std::string(op) + " " + std::string(path) + ": " + reason);
}

std::string InRoot(std::string_view root, std::string_view p) {
  std::string r = NormalizeRoot(root);
  if (r == "/") return std::string(p);
  if (p == r) return "/";
  if (p.size() > r.size() && p.substr(0, r.size()) == r && p[r.size()] == '/') {
    return std::string(p.substr(r.size()));
  }
  return std::string(p);
}

Status Scrub(const Status& s, std::initializer_list<std::string_view> roots) {
  if (s.ok()) return s;
  std::vector<std::string> rs;
  for (std::string_view r : roots) {
    if (!r.empty() && r != "/") rs.push_back(NormalizeRoot(r));
  }
  // Longest first, so that a root that is a prefix of another does not win.
  std::sort(rs.begin(), rs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::string msg = s.message();
  for (const std::string& r : rs) {
    std::string out;
    size_t i = 0;
    while (i < msg.size()) {
      size_t j = msg.find(r, i);
      if (j == std::string::npos) break;
      size_t end = j + r.size();
      bool starts = j == 0 || EndsPath(msg[j - 1]);
      bool ends = end == msg.size() || msg[end] == '/' || EndsPath(msg[end]);
      out.append(msg, i, j - i);
      if (starts && ends) {
        if (end == msg.size() || msg[end] != '/') out += '/';
      } else {
        out += r;
      }
      i = end;
    }
    out.append(msg, std::min(i, msg.size()), std::string::npos);
    msg = std::move(out);
  }
  Status scrubbed(s.code(), msg);
  scrubbed.mutable_details() = s.details();
  return scrubbed;
}

Status SetTimes(const std::string& p, std::optional<int64_t> ns) {
  if (!ns) return Status::Ok();
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(*ns / 1000000000);
  ts.tv_nsec = static_cast<long>(*ns % 1000000000);
  if (ts.tv_nsec < 0) {
    ts.tv_sec -= 1;
    ts.tv_nsec += 1000000000;
  }
  struct timespec both[2] = {ts, ts};
  if (utimensat(AT_FDCWD, p.c_str(), both, AT_SYMLINK_NOFOLLOW) != 0) {
    return PathError(errno, "utime", p);
  }
  return Status::Ok();
}

Status Chown(const std::string& p, const std::optional<Owner>& owner) {
  if (!owner) return Status::Ok();
  if (lchown(p.c_str(), owner->uid, owner->gid) != 0) return PathError(errno, "lchown", p);
  return Status::Ok();
}

Result<std::vector<std::string>> MkdirAll(const std::string& root, const std::string& host_path,
                                          mode_t perm, const std::optional<Owner>& owner,
                                          std::optional<int64_t> ts) {
  std::string r = NormalizeRoot(root);
  bool under = host_path == r || r == "/" ||
               (host_path.size() > r.size() && host_path.compare(0, r.size(), r) == 0 &&
                host_path[r.size()] == '/');
  if (!under) return Internal("mkdir: " + host_path + " is not under " + r);
  std::string rel = InRoot(r, host_path);
  if (r == "/") r.clear();
  std::vector<std::string> created;
  std::string cur = r;
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string_view part = std::string_view(rel).substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    cur += "/";
    cur += part;
    struct stat st;
    if (lstat(cur.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return PathError(ENOTDIR, "mkdir", cur);
    }
    if (errno != ENOENT) return PathError(errno, "lstat", cur);
    if (mkdir(cur.c_str(), perm & 07777) != 0) {
      if (errno == EEXIST && lstat(cur.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      return PathError(errno, "mkdir", cur);
    }
    // The daemon's umask must not matter: BuildKit runs with umask 0.
    if (chmod(cur.c_str(), perm & 07777) != 0) return PathError(errno, "chmod", cur);
    KILN_RETURN_IF_ERROR(Chown(cur, owner));
    KILN_RETURN_IF_ERROR(SetTimes(cur, ts));
    created.push_back(cur);
  }
  return created;
}

Status FixCreatedDirTimes(const std::vector<std::string>& dirs, std::optional<int64_t> ts) {
  if (!ts) return Status::Ok();
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) KILN_RETURN_IF_ERROR(SetTimes(*it, ts));
  return Status::Ok();
}

}  // namespace kiln::llbsolver::file
