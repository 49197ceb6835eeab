#include "llbsolver/file/user.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>
#include <vector>

#include "llbsolver/file/fs_ops.h"
#include "util/path.h"

namespace kiln::llbsolver::file {
namespace {

constexpr size_t kMaxUserFileBytes = 10u << 20;  // as BuildKit: larger files are refused
constexpr uint64_t kMaxId = (1u << 31) - 1;      // moby/sys/user's id range

// One passwd or group line: the name, the id (third field) and, for passwd, the primary gid.
struct Entry {
  std::string name;
  uint32_t id = 0;
  uint32_t gid = 0;
};

std::optional<uint64_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Parses "name:x:id:gid:..." lines. Lines with a malformed id are skipped (upstream reads them
// as id 0, which would hand out root).
std::vector<Entry> ParseEntries(std::string_view data, bool with_gid) {
  std::vector<Entry> out;
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view line = TrimSpace(data.substr(0, nl));
    data = nl == std::string_view::npos ? std::string_view() : data.substr(nl + 1);
    if (line.empty()) continue;
    std::vector<std::string_view> fields;
    for (size_t i = 0;;) {
      size_t j = line.find(':', i);
      fields.push_back(line.substr(i, j == std::string_view::npos ? j : j - i));
      if (j == std::string_view::npos) break;
      i = j + 1;
    }
    if (fields.size() < (with_gid ? 4u : 3u)) continue;
    std::optional<uint64_t> id = ParseId(fields[2]);
    std::optional<uint64_t> gid = with_gid ? ParseId(fields[3]) : std::optional<uint64_t>(0);
    if (!id || !gid || *id > UINT32_MAX || *gid > UINT32_MAX) continue;
    out.push_back(
        Entry{std::string(fields[0]), static_cast<uint32_t>(*id), static_cast<uint32_t>(*gid)});
  }
  return out;
}

// Contents of `file` ("/etc/passwd") inside root, or nullopt when root is scratch or the file
// (or a directory on its way) does not exist.
Result<std::optional<std::string>> ReadUserFile(const std::string& root, const char* file) {
  if (root.empty()) return std::optional<std::string>();
  KILN_ASSIGN_OR_RETURN(std::string path, ResolveInRoot(root, file, /*follow_last=*/true));
  // Only a regular file is opened: a device node or FIFO planted at /etc/passwd is refused
  // before open (which could block or have side effects).
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return PathError(errno, "stat", file);
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument(std::string(file) + " is not a regular file");
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return PathError(errno, "open", file);
  Fd closer(fd);
  if (fstat(fd, &st) != 0) return PathError(errno, "stat", file);
  if (!S_ISREG(st.st_mode)) return InvalidArgument(std::string(file) + " is not a regular file");
  std::string data;
  char buf[64 << 10];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError(errno, "read", file);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxUserFileBytes) {
      return InvalidArgument("\"" + std::string(file) + "\" exceeds " +
                             std::to_string(kMaxUserFileBytes) + " bytes");
    }
  }
  return std::optional<std::string>(std::move(data));
}

// Which file a name is looked up in, and how errors call it.
struct UserFile {
  const char* path;  // inside the root
  const char* what;  // "user" or "group"
  const char* file;  // "passwd" or "group"
  bool with_gid;     // passwd lines carry a primary gid
};
constexpr UserFile kPasswd{"/etc/passwd", "user", "passwd", true};
constexpr UserFile kGroup{"/etc/group", "group", "group", false};

// The first entry named `name` (or, for a numeric name, with that id); a numeric name without
// an entry stands for itself (id and gid).
Result<Entry> LookUp(const std::string& root, const UserFile& f, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> data, ReadUserFile(root, f.path));
  std::optional<uint64_t> numeric = ParseId(name);
  if (data) {
    for (Entry& e : ParseEntries(*data, f.with_gid)) {
      if (e.name == name || (numeric && e.id == *numeric)) return std::move(e);
    }
  }
  if (!numeric) {
    return NotFound(std::string("unable to find ") + f.what + " " + name +
                    ": no matching entries in " + f.file + " file");
  }
  if (*numeric > kMaxId) {
    return InvalidArgument(std::string("invalid ") + f.what + " " + name +
                           ": ids must be in range 0-2147483647");
  }
  auto id = static_cast<uint32_t>(*numeric);
  return Entry{name, id, id};
}

}  // namespace

UserResolver::UserResolver()
    : UserResolver([](int64_t) -> Result<std::string> { return std::string(); }) {}

UserResolver::UserResolver(RootOfInput root_of_input) : root_of_input_(std::move(root_of_input)) {}

Result<std::optional<Owner>> UserResolver::Resolve(const pb::ChownOpt* chown) const {
  if (chown == nullptr) return std::optional<Owner>();
  // Entry for a byName option, looked up in the root of its input.
  auto by_name = [this](const pb::NamedUserOpt& n, const UserFile& f) -> Result<Entry> {
    if (n.input() < 0) return InvalidArgument("invalid user index: " + std::to_string(n.input()));
    KILN_ASSIGN_OR_RETURN(std::string root, root_of_input_(n.input()));
    return LookUp(root, f, n.name());
  };
  Owner owner;  // a ChownOpt without user means root
  if (chown->has_user()) {
    const pb::UserOpt& u = chown->user();
    if (u.has_byid()) {
      owner.uid = owner.gid = u.byid();
    } else if (u.has_byname()) {
      KILN_ASSIGN_OR_RETURN(Entry e, by_name(u.byname(), kPasswd));
      owner.uid = e.id;
      owner.gid = e.gid;
    }
  }
  if (chown->has_group()) {
    const pb::UserOpt& g = chown->group();
    if (g.has_byid()) {
      owner.gid = g.byid();
    } else if (g.has_byname()) {
      KILN_ASSIGN_OR_RETURN(Entry e, by_name(g.byname(), kGroup));
      owner.gid = e.id;
    }
  }
  return std::optional<Owner>(owner);
}

}  // namespace kiln::llbsolver::file
