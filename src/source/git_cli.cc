#include "source/git_cli.h"

#include <unistd.h>

#include <cstdlib>

#include "executor/subprocess.h"

namespace kiln::source {

Result<std::string> FindGit() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  dirs += ":/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/git";
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return FailedPrecondition("git is not installed (kilnd runs git for git sources)");
}

Result<std::string> RunGit(const Context& ctx, const GitRun& run,
                           const std::vector<std::string>& args) {
  KILN_ASSIGN_OR_RETURN(std::string git, FindGit());
  // Repositories may not use the daemon's files as submodules (BuildKit passes the same).
  std::vector<std::string> argv = {git, "-c", "protocol.file.allow=user"};
  if (!run.work_tree.empty()) argv.insert(argv.end(), {"--work-tree", run.work_tree});
  if (!run.git_dir.empty()) argv.insert(argv.end(), {"--git-dir", run.git_dir});
  argv.insert(argv.end(), args.begin(), args.end());
  executor::CommandOptions o;
  const char* path = std::getenv("PATH");
  o.env = {"PATH=" + std::string(path != nullptr ? path : "/usr/bin:/bin"),
           "GIT_TERMINAL_PROMPT=0",
           "GIT_SSH_COMMAND=ssh -o BatchMode=yes",
           "LC_ALL=C",
           "GIT_CONFIG_NOSYSTEM=1",
           "HOME=/dev/null",
           "GIT_CONFIG_GLOBAL=/dev/null"};
  o.env.insert(o.env.end(), run.env.begin(), run.env.end());
  o.replace_env = true;
  o.timeout = run.timeout;
  o.ctx = &ctx;
  std::string what = "git " + (args.empty() ? std::string() : args[0]);
  auto r = executor::RunCommand(argv, o);
  if (!r.ok()) {
    if (r.status().code() == Code::kDeadlineExceeded) {
      return DeadlineExceeded(what + ": no answer within " +
                              std::to_string(run.timeout.count() / 1000) + " s");
    }
    return r.status();
  }
  if (r->exit_code != 0) {
    std::string err = r->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
    return Unavailable(what + ": " +
                       (err.empty() ? "exit code " + std::to_string(r->exit_code) : err));
  }
  return std::move(r->out);
}

}  // namespace kiln::source
