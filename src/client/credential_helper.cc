#include "client/credential_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

extern char** environ;

namespace kiln::client {

namespace {

constexpr char kNotFoundMessage[] = "credentials not found in native keychain";
constexpr size_t kMaxOutput = 1 << 20;
constexpr int kPollMillis = 100;  // how often a running helper looks at ctx

// What exec.LookPath finds: the first executable regular file named `name` in a PATH entry.
std::optional<std::string> LookPath(const std::string& name) {
  const char* path = getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "";
  while (true) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string file = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st;
    if (stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(file.c_str(), X_OK) == 0) {
      return file;
    }
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Closes the fds it holds; kills and reaps the child unless it was waited for.
struct Child {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  ~Child() {
    for (int fd : {in, out, err}) {
      if (fd >= 0) close(fd);
    }
    if (pid > 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  Result<int> Wait() {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return ErrnoStatus(errno, "wait for credential helper");
    }
    pid = -1;
    return status;
  }
};

Status Spawn(const std::string& path, Child* c) {
  int in[2], out[2], err[2];
  // stdin is a socket so that writing to a helper that exits early cannot raise SIGPIPE.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
    return ErrnoStatus(errno, "credential helper socketpair");
  }
  c->in = in[0];
  if (pipe2(out, O_CLOEXEC) != 0) {
    int e = errno;
    close(in[1]);
    return ErrnoStatus(e, "credential helper pipe");
  }
  c->out = out[0];
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(in[1]);
    close(out[1]);
    return ErrnoStatus(e, "credential helper pipe");
  }
  c->err = err[0];
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[1], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::string arg0 = path, arg1 = "get";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  int rc = posix_spawn(&c->pid, path.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[1]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    c->pid = -1;
    return ErrnoStatus(rc, "run " + path);
  }
  return Status::Ok();
}

// Reads stdout and stderr to their end (each kept up to kMaxOutput), watching ctx.
Status Drain(const Context& ctx, Child* c, std::string* out, std::string* err) {
  char buf[4096];
  while (c->out >= 0 || c->err >= 0) {
    pollfd p[2] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}};
    int r = poll(p, 2, kPollMillis);
    if (ctx.cancelled()) return ctx.Err();
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus(errno, "read credential helper output");
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      ssize_t n = read(p[i].fd, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::string* dst = i == 0 ? out : err;
      if (n > 0) {
        if (dst->size() < kMaxOutput) dst->append(buf, static_cast<size_t>(n));
        continue;
      }
      int& fd = i == 0 ? c->out : c->err;
      close(fd);
      fd = -1;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<HelperCredentials>> GetFromCredentialHelper(const Context& ctx,
                                                                 const std::string& helper,
                                                                 const std::string& server_url) {
  const std::string name = "docker-credential-" + helper;
  std::optional<std::string> path = LookPath(name);
  if (!path) return NotFound(name + ": executable file not found in $PATH");

  Child c;
  KILN_RETURN_IF_ERROR(Spawn(*path, &c));
  std::string_view url = server_url;
  while (!url.empty()) {
    ssize_t n = send(c.in, url.data(), url.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the helper stopped reading; its exit status will tell
    url.remove_prefix(static_cast<size_t>(n));
  }
  close(c.in);
  c.in = -1;
  std::string out, err;
  KILN_RETURN_IF_ERROR(Drain(ctx, &c, &out, &err));
  KILN_ASSIGN_OR_RETURN(int status, c.Wait());

  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string said = Trim(out);
    if (said == kNotFoundMessage) return std::optional<HelperCredentials>();
    if (said.empty()) said = Trim(err);
    std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "killed by signal " + std::to_string(WTERMSIG(status));
    return Status(Code::kUnknown, name + " get: " + (said.empty() ? how : said + " (" + how + ")"));
  }
  nlohmann::json doc = nlohmann::json::parse(out, nullptr, false);
  auto str = [&doc](const char* key) -> std::optional<std::string> {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return std::string();
    if (!it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (doc.is_discarded() || !doc.is_object()) {
    // Not quoted back: it might hold the secret.
    return InvalidArgument(name + " get: its output is not a JSON object");
  }
  std::optional<std::string> user = str("Username"), secret = str("Secret");
  if (!user || !secret) return InvalidArgument(name + " get: Username and Secret must be strings");
  if (*user == "<token>") user->clear();
  return std::optional<HelperCredentials>(HelperCredentials{*user, *secret});
}

}  // namespace kiln::client
