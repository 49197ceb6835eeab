#pragma once
// ExecOp's Meta as the executor wants it, and the entitlement check of exec ops (BuildKit's
// ops/exec.go and llbsolver/vertex.go). Stateless, thread-safe.

#include <string>
#include <vector>

#include "executor/executor.h"
#include "pb/ops.pb.h"

namespace kiln::llbsolver {

// The process of an exec op: its Meta, with the proxy settings as environment variables (both
// cases), PATH defaulted when missing, cwd "/" when empty, extra hosts checked, network and
// security modes mapped. Errors name the bad field. The secretenv entries are not here: their
// values come from the session (exec_session_mounts.h, LoadSecretEnv).
Result<executor::ProcessSpec> ProcessFromMeta(const pb::Op& op);

// InvalidArgument("network.host is not allowed") / ("security.insecure is not allowed") for an
// exec op that asks for what `granted` does not include.
Status ValidateEntitlements(const pb::Op& op, const std::vector<std::string>& granted);

// The PATH an exec gets when its env has none.
inline constexpr char kDefaultPathEnv[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace kiln::llbsolver
