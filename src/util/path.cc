#include "util/path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace kiln {

std::string CleanPath(std::string_view p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view part = p.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); k++) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

std::string JoinUnder(std::string_view root, std::string_view p) {
  std::string clean = CleanPath("/" + std::string(p));
  std::string r(root);
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (clean == "/") return r;
  return r + clean;
}

Result<std::string> ResolveInRoot(std::string_view root, std::string_view p, bool follow_last) {
  std::string r(root);
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  // Pending components to walk, processed front to back; resolved is relative to root.
  std::vector<std::string> pending;
  auto push_path = [&pending](std::string_view path) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      if (j > i) parts.emplace_back(path.substr(i, j - i));
      i = j + 1;
    }
    pending.insert(pending.begin(), parts.begin(), parts.end());
  };
  push_path(p);
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = pending.front();
    pending.erase(pending.begin());
    if (part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string cur = r;
    for (auto& c : resolved) cur += "/" + c;
    cur += "/" + part;
    bool last = pending.empty();
    struct stat st;
    if ((!last || follow_last) && lstat(cur.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > 255) return InvalidArgument("too many levels of symbolic links in " + std::string(p));
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlink(cur.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(errno, "readlink " + cur);
      target.resize(static_cast<size_t>(n));
      if (!target.empty() && target[0] == '/') resolved.clear();
      push_path(target);
      continue;
    }
    resolved.push_back(part);
  }
  std::string out = r;
  for (auto& c : resolved) out += "/" + c;
  return out;
}

bool IsLocalPath(std::string_view name) {
  if (name.empty() || name[0] == '/') return false;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    if (name.substr(i, j - i) == "..") return false;
    i = j + 1;
  }
  return true;
}

std::string_view Dir(std::string_view p) {
  size_t i = p.rfind('/');
  if (i == std::string_view::npos) return ".";
  if (i == 0) return "/";
  return p.substr(0, i);
}

std::string_view Base(std::string_view p) {
  size_t i = p.rfind('/');
  if (i == std::string_view::npos) return p;
  return p.substr(i + 1);
}

}  // namespace kiln
