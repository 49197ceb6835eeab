#include "llbsolver/exec_session_mounts.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "session/secrets.h"
#include "util/go_quote.h"
#include "util/log.h"

namespace kiln::llbsolver {

namespace {

Result<std::string> FetchSecret(const Context& ctx, session::Manager* sessions,
                                const std::vector<std::string>& ids, const std::string& id) {
  if (sessions == nullptr) return session::SecretNotFound(id);
  return session::GetSecret(ctx, *sessions, ids, id);
}

Status WriteSecretFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus(errno, "create secret file");
  std::string_view rest = data;
  while (!rest.empty()) {
    ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus(err, "write secret file");
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (close(fd) != 0) return ErrnoStatus(errno, "write secret file");
  return Status::Ok();
}

}  // namespace

SessionMounts::~SessionMounts() {
  forwarders_.clear();
  if (tmpfs_dir_.empty()) return;
  if (umount2(tmpfs_dir_.c_str(), UMOUNT_NOFOLLOW) != 0 &&
      umount2(tmpfs_dir_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
    log::Warn("unmount secrets tmpfs {}: {}", tmpfs_dir_, std::strerror(errno));
    return;  // never remove files below a mount that is still there
  }
  if (rmdir(tmpfs_dir_.c_str()) != 0) {
    log::Warn("remove secrets dir {}: {}", tmpfs_dir_, std::strerror(errno));
  }
}

Status SessionMounts::EnsureTmpfs() {
  if (!tmpfs_dir_.empty()) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(secrets_root_, ec);
  if (ec) return Internal("create " + secrets_root_ + ": " + ec.message());
  std::string tmpl = secrets_root_ + "/XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, "secrets dir");
  // A tmpfs keeps the values in memory only; 0700 and owned by the daemon.
  if (mount("tmpfs", tmpl.c_str(), "tmpfs", MS_NODEV | MS_NOSUID | MS_NOEXEC, "mode=0700") != 0) {
    int err = errno;
    rmdir(tmpl.c_str());
    return ErrnoStatus(err, "unable to setup secret mount: mount tmpfs");
  }
  tmpfs_dir_ = tmpl;
  return Status::Ok();
}

Result<std::optional<executor::MountSpec>> SessionMounts::Secret(const Context& ctx,
                                                                 const pb::Mount& m,
                                                                 const std::string& dest) {
  if (!m.has_secretopt()) return InvalidArgument("invalid secret mount options");
  const pb::SecretOpt& o = m.secretopt();
  if (o.id().empty()) return InvalidArgument("secret ID missing from mount options");
  Result<std::string> value = FetchSecret(ctx, sessions_, session_ids_, o.id());
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound && o.optional())
      return std::optional<executor::MountSpec>();
    return value.status();
  }
  KILN_RETURN_IF_ERROR(EnsureTmpfs());
  const std::string path = tmpfs_dir_ + "/" + std::to_string(files_++);
  KILN_RETURN_IF_ERROR(WriteSecretFile(path, *value));
  if (chown(path.c_str(), o.uid(), o.gid()) != 0) return ErrnoStatus(errno, "chown secret file");
  if (chmod(path.c_str(), o.mode() & 0777) != 0) return ErrnoStatus(errno, "chmod secret file");
  executor::MountSpec ms;
  ms.type = executor::MountSpec::Type::kBind;
  ms.dest = dest;
  ms.source = path;
  ms.readonly = true;
  return std::optional<executor::MountSpec>(std::move(ms));
}

Result<std::optional<executor::MountSpec>> SessionMounts::SSH(const Context& ctx,
                                                              const pb::Mount& m,
                                                              const std::string& dest) {
  const pb::SSHOpt o = m.has_sshopt() ? m.sshopt() : pb::SSHOpt();
  auto found = sessions_ == nullptr
                   ? Result<std::shared_ptr<session::Session>>(NotFound(
                         fmt::format("no SSH key {} forwarded from the client",
                                     GoQuote(o.id().empty() ? session::kDefaultSSHID : o.id()))))
                   : session::FindSSHAgent(ctx, *sessions_, session_ids_, o.id());
  if (!found.ok()) {
    if (o.optional() && !ctx.cancelled()) return std::optional<executor::MountSpec>();
    return found.status();
  }
  session::SSHSocketOptions so;
  so.id = o.id();
  so.uid = o.uid();
  so.gid = o.gid();
  so.mode = o.mode() & 0777;
  KILN_ASSIGN_OR_RETURN(auto fwd, session::SSHForwarder::Start(*found, so));
  executor::MountSpec ms;
  ms.type = executor::MountSpec::Type::kBind;
  ms.dest = dest;
  ms.source = fwd->socket_path();
  forwarders_.push_back(std::move(fwd));
  return std::optional<executor::MountSpec>(std::move(ms));
}

Result<std::vector<std::string>> LoadSecretEnv(const Context& ctx, session::Manager* sessions,
                                               const std::vector<std::string>& session_ids,
                                               const pb::ExecOp& e) {
  std::vector<std::string> out;
  for (const auto& s : e.secretenv()) {
    if (s.id().empty()) {
      return InvalidArgument(
          fmt::format("secret ID missing for {} environment variable", GoQuote(s.name())));
    }
    Result<std::string> value = FetchSecret(ctx, sessions, session_ids, s.id());
    if (!value.ok()) {
      if (value.status().code() == Code::kNotFound && s.optional()) continue;
      return value.status();
    }
    out.push_back(s.name() + "=" + *value);
  }
  return out;
}

}  // namespace kiln::llbsolver
