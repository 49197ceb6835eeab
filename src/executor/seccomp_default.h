#pragma once
// The default seccomp profile of a sandboxed step, in OCI config.json form: everything not
// listed fails with EPERM. Written for kiln after the behaviour of containerd's default profile
// (what BuildKit uses): the usual syscalls are allowed, namespace creation and the syscalls of
// privileged operations only with the capability that guards them, clone3 fails with ENOSYS so
// libc falls back to clone (whose flags can be checked). Stateless, thread-safe.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::executor {

// `caps`: the process's capabilities (CAP_* names); syscalls guarded by one of them are allowed.
nlohmann::json DefaultSeccompProfile(const std::vector<std::string>& caps);

}  // namespace kiln::executor
