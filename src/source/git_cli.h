#pragma once
// Running Debian's git for the git source (BuildKit's gitutil.GitCLI): a clean environment (no
// terminal prompts, no system or user config, C locale), an optional git dir and work tree,
// the job's Context (cancelling kills git) and a timeout. Thread-safe.

#include <chrono>
#include <string>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace kiln::source {

struct GitRun {
  std::string git_dir;           // --git-dir, when set
  std::string work_tree;         // --work-tree, when set
  std::vector<std::string> env;  // more "K=V" (GIT_INDEX_FILE, ...)
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// The git binary on PATH (or /usr/bin/git); FailedPrecondition when there is none.
Result<std::string> FindGit();

// Runs `git <args>` and returns its stdout. A failure is Unavailable with git's own message
// ("git fetch: fatal: ..."); a timeout DeadlineExceeded; cancellation the context's cause.
Result<std::string> RunGit(const Context& ctx, const GitRun& run,
                           const std::vector<std::string>& args);

}  // namespace kiln::source
