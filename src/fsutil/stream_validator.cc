#include "fsutil/stream_validator.h"

#include <fmt/format.h>

#include "fsutil/filemode.h"
#include "util/path.h"

namespace kiln::fsutil::internal {

namespace {

Status Invalid(const std::string& path, std::string_view why) {
  return InvalidArgument(fmt::format("invalid file transfer: \"{}\" {}", path, why));
}

}  // namespace

Status StreamValidator::CheckPath(const std::string& p) const {
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

  std::string dir(Dir(p));
  if (dir == ".") dir.clear();
  std::string base(Base(p));
  // Leave directories that cannot contain p.
  while (stack_.size() > 1 && stack_.back().path != dir &&
         !dir.starts_with(stack_.back().path + "/")) {
    stack_.pop_back();
  }
  OpenDir& top = stack_.back();
  if (top.path != dir) {
    auto it = entries_.find(dir);
    if (it == entries_.end()) return Invalid(p, "arrived before its parent directory");
    if (!it->second) return Invalid(p, "is inside \"" + dir + "\", which is not a directory");
    return Invalid(p, "is out of order: its directory was already complete");
  }
  if (!top.last.empty() && !(top.last < base)) {
    return Invalid(p, fmt::format("is out of order: names in a directory must be strictly "
                                  "increasing, but it follows \"{}\"",
                                  top.last));
  }
  top.last = base;

  const bool is_dir = IsDir(mode);
  if (is_dir) stack_.push_back(OpenDir{p, ""});
  if (IsRegular(mode)) {
    if (stat.linkname().empty()) {
      link_targets_.insert(p);
    } else if (!link_targets_.contains(stat.linkname())) {
      return Invalid(
          p, fmt::format("is a hardlink to \"{}\", which was not sent before it", stat.linkname()));
    }
  }
  entries_.emplace(p, is_dir);
  return Status::Ok();
}

}  // namespace kiln::fsutil::internal
