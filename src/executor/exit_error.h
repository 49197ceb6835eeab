#pragma once
// The error of a step whose process failed, worded as BuildKit words it. Stateless.

#include <string>
#include <vector>

#include "util/status.h"

namespace kiln::executor {


// `process "<args joined by space>" did not complete successfully: exit code: N`, Unknown,
// with N as the exit code detail. A non-empty `runtime_error` (the runtime could not start
// the process: runc's own message) replaces "exit code: N" in the message.
Status ProcessExitError(const std::vector<std::string>& args, int exit_code,
                        const std::string& runtime_error = "");

// The messages of "error" level entries in a runc/crun --log-format=json log, joined by "; ".
std::string RuntimeLogErrors(const std::string& log_json_lines);

}  // namespace kiln::executor
