#pragma once
// User resolution for a step's process: "" | "user" | "uid" | "user:group" | "uid:gid", names
// looked up in the rootfs's /etc/passwd and /etc/group as runc's (moby/sys) user package does,
// which is what BuildKit uses. Stateless, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::executor {

struct UserIds {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // supplementary groups (implicit form only)
  bool operator==(const UserIds&) const = default;
};

// Resolves `spec` against the contents of passwd and group (nullopt: the file is missing).
//  - ""                 → 0:0 (root's supplementary groups when passwd names uid 0)
//  - "name" / "uid"     → uid and primary gid from passwd, supplementary groups from the group
//                         entries listing the user; a uid missing from passwd gets gid 0
//  - "u:g"              → as above, the group replaced by g (name or number), no supplementary
//  - "n:m" both numeric (or "root") → taken as is without reading either file
Result<UserIds> ResolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                            const std::optional<std::string>& group);

// Reads /etc/passwd and /etc/group from `rootfs` (symlinks resolved inside it, regular files
// only: anything else counts as missing; at most 10 MiB) and resolves `spec`.
Result<UserIds> ResolveUserInRootfs(const std::string& rootfs, std::string_view spec);

}  // namespace kiln::executor
