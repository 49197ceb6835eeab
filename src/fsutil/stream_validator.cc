#include "fsutil/stream_validator.h"

#include <fmt/format.h>

#include "fsutil/filemode.h"
#include "util/path.h"

namespace kiln::fsutil::internal {

namespace {

Status Invalid(const std::string& path, std::string_view why) {
  return InvalidArgument(fmt::format("invalid file transfer: \"{}\" {}", path, why));
}

// The common case, without allocating: no NUL, no leading or trailing '/', and no empty, "."
// or ".." component. Anything else gets the full checks (and their precise error).
bool PlainRelativePath(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view c = p.substr(start, end - start);
    if (c.empty() || c == "." || c == ".." || c.find('\0') != std::string_view::npos) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

// Whether directory `dir` is `parent` or below it ("" is the root).
bool Within(std::string_view dir, std::string_view parent) {
  if (parent.empty() || dir == parent) return true;
  return dir.size() > parent.size() && dir.starts_with(parent) && dir[parent.size()] == '/';
}

}  // namespace

Status StreamValidator::CheckPath(const std::string& p) const {
  if (PlainRelativePath(p)) return Status::Ok();
  if (p.empty()) return InvalidArgument("invalid file transfer: entry with an empty path");
  if (p.find('\0') != std::string::npos) return Invalid(p, "contains a NUL byte");
  if (p[0] == '/') return Invalid(p, "is an absolute path");
  if (!IsLocalPath(p)) return Invalid(p, "escapes the destination directory");
  if (p == "." || CleanPath(p) != p) return Invalid(p, "is not a clean relative path");
  return Status::Ok();
}

Status StreamValidator::Add(const Stat& stat) {
  const std::string& p = stat.path();
  KILN_RETURN_IF_ERROR(CheckPath(p));
  const uint32_t mode = stat.mode();
  if ((mode & (kModeSocket | kModeIrregular)) != 0) {
    return Invalid(p, fmt::format("has an unsupported file type (mode {:#x})", mode));
  }

  std::string_view dir = Dir(p);
  if (dir == ".") dir = "";
  std::string_view base = Base(p);
  // Leave directories that cannot contain p.
  while (stack_.size() > 1 && !Within(dir, stack_.back().path)) stack_.pop_back();
  OpenDir& top = stack_.back();
  if (top.path != dir) {
    auto it = entries_.find(std::string(dir));
    if (it == entries_.end()) return Invalid(p, "arrived before its parent directory");
    if (it->second != Kind::kDir) {
      return Invalid(p, fmt::format("is inside \"{}\", which is not a directory", dir));
    }
    return Invalid(p, "is out of order: its directory was already complete");
  }
  if (!top.last.empty() && !(top.last < base)) {
    return Invalid(p, fmt::format("is out of order: names in a directory must be strictly "
                                  "increasing, but it follows \"{}\"",
                                  top.last));
  }
  top.last = base;

  Kind kind = Kind::kOther;
  if (IsDir(mode)) {
    kind = Kind::kDir;
    stack_.push_back(OpenDir{p, ""});
  } else if (IsRegular(mode)) {
    if (stat.linkname().empty()) {
      kind = Kind::kLinkTarget;
    } else if (auto it = entries_.find(stat.linkname());
               it == entries_.end() || it->second != Kind::kLinkTarget) {
      return Invalid(
          p, fmt::format("is a hardlink to \"{}\", which was not sent before it", stat.linkname()));
    }
  }
  entries_.emplace(p, kind);
  return Status::Ok();
}

}  // namespace kiln::fsutil::internal
