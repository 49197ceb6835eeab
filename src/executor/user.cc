#include "executor/user.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <limits>

#include "util/path.h"

namespace kiln::executor {
namespace {

constexpr size_t kMaxUserFileBytes = 10 << 20;

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > std::numeric_limits<int32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(v);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) {
      out.push_back(s.substr(i));
      return out;
    }
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// name:password:uid:gid:gecos:home:shell; malformed lines are skipped, as runc does.
std::vector<PasswdEntry> ParsePasswd(const std::string& text) {
  std::vector<PasswdEntry> out;
  for (std::string_view line : Split(text, '\n')) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto f = Split(line, ':');
    if (f.size() < 4) continue;
    auto uid = ParseId(f[2]);
    auto gid = ParseId(f[3]);
    if (!uid || !gid) continue;
    out.push_back({std::string(f[0]), *uid, *gid});
  }
  return out;
}

// name:password:gid:member,member
std::vector<GroupEntry> ParseGroup(const std::string& text) {
  std::vector<GroupEntry> out;
  for (std::string_view line : Split(text, '\n')) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto f = Split(line, ':');
    if (f.size() < 3) continue;
    auto gid = ParseId(f[2]);
    if (!gid) continue;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() >= 4 && !f[3].empty()) {
      for (auto m : Split(f[3], ',')) g.members.emplace_back(m);  // untrimmed, as runc
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::optional<uint32_t> ParseIdOrRoot(std::string_view s) {
  if (s == "root") return 0;
  return ParseId(s);
}

Result<std::optional<std::string>> ReadUserFile(const std::string& rootfs, const char* path) {
  KILN_ASSIGN_OR_RETURN(std::string host, ResolveInRoot(rootfs, path, /*follow_last=*/true));
  int fd = open(host.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return ErrnoStatus(errno, std::string("open ") + path + " in the rootfs");
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return std::optional<std::string>();  // as BuildKit: not a regular file = no file
  }
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return ErrnoStatus(err, std::string("read ") + path + " in the rootfs");
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxUserFileBytes) {
      close(fd);
      return InvalidArgument(std::string(path) + " in the rootfs exceeds 10 MiB");
    }
  }
  close(fd);
  return std::optional<std::string>(std::move(data));
}

}  // namespace

Result<UserIds> ResolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                            const std::optional<std::string>& group) {
  bool is_default = spec.empty();
  if (is_default) spec = "0";
  // BuildKit's shortcut: two numbers (or "root") need no lookup and get no extra groups.
  size_t colon = spec.find(':');
  if (colon != std::string_view::npos) {
    auto u = ParseIdOrRoot(spec.substr(0, colon));
    auto g = ParseIdOrRoot(spec.substr(colon + 1));
    if (u && g) return UserIds{*u, *g, {}};
  }
  std::string_view user_arg = colon == std::string_view::npos ? spec : spec.substr(0, colon);
  std::string_view group_arg = colon == std::string_view::npos ? "" : spec.substr(colon + 1);

  UserIds out;
  std::vector<PasswdEntry> users = passwd ? ParsePasswd(*passwd) : std::vector<PasswdEntry>{};
  auto uid_arg = ParseId(user_arg);
  const PasswdEntry* match = nullptr;
  for (const auto& u : users) {
    if (u.name == user_arg || (uid_arg && u.uid == *uid_arg)) {
      match = &u;
      break;  // first match wins
    }
  }
  if (match) {
    out.uid = match->uid;
    out.gid = match->gid;
  } else if (uid_arg) {
    out.uid = *uid_arg;  // a number with no passwd entry is fine: gid stays 0
  } else {
    if (is_default) return UserIds{};
    return NotFound("unable to find user " + std::string(user_arg) +
                    ": no matching entries in passwd file");
  }

  if (!group_arg.empty() || match) {
    std::vector<GroupEntry> groups = group ? ParseGroup(*group) : std::vector<GroupEntry>{};
    if (!group_arg.empty()) {
      auto gid_arg = ParseId(group_arg);
      bool found = false;
      for (const auto& g : groups) {
        if (g.name == group_arg || (gid_arg && g.gid == *gid_arg)) {
          out.gid = g.gid;
          found = true;
          break;
        }
      }
      if (!found) {
        if (!gid_arg) {
          return NotFound("unable to find group " + std::string(group_arg) +
                          ": no matching entries in group file");
        }
        out.gid = *gid_arg;
      }
    } else {
      for (const auto& g : groups) {
        for (const auto& m : g.members) {
          if (m == match->name) {
            out.additional_gids.push_back(g.gid);
            break;
          }
        }
      }
    }
  }
  return out;
}

Result<UserIds> ResolveUserInRootfs(const std::string& rootfs, std::string_view spec) {
  size_t colon = spec.find(':');
  if (colon != std::string_view::npos && ParseIdOrRoot(spec.substr(0, colon)) &&
      ParseIdOrRoot(spec.substr(colon + 1))) {
    return ResolveUser(spec, std::nullopt, std::nullopt);
  }
  KILN_ASSIGN_OR_RETURN(auto passwd, ReadUserFile(rootfs, "/etc/passwd"));
  KILN_ASSIGN_OR_RETURN(auto group, ReadUserFile(rootfs, "/etc/group"));
  return ResolveUser(spec, passwd, group);
}

}  // namespace kiln::executor
