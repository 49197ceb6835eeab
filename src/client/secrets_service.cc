#include "client/secrets_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kiln::client {

namespace {

Result<std::string> ReadSecretFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus(err, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace

Result<SecretStore> SecretStore::New(const std::vector<SecretSource>& sources,
                                     const GetEnvFn& getenv) {
  SecretStore store;
  store.getenv_ = getenv;
  for (SecretSource s : sources) {
    if (s.id.empty()) return InvalidArgument("secret missing ID");
    if (s.env.empty() && s.file_path.empty()) {
      if (getenv(s.id.c_str()) != nullptr) {
        s.env = s.id;
      } else {
        s.file_path = s.id;
      }
    }
    if (!s.file_path.empty()) {
      struct stat st {};
      if (stat(s.file_path.c_str(), &st) != 0) {
        return InvalidArgument(fmt::format("failed to stat {}: stat {}: {}", s.file_path,
                                           s.file_path, std::strerror(errno)));
      }
      if (static_cast<size_t>(st.st_size) > kMaxSecretSize) {
        return InvalidArgument(fmt::format("secret {} too big. max size 500KiB", s.id));
      }
    }
    store.sources_[s.id] = std::move(s);
  }
  return store;
}

Result<std::string> SecretStore::Get(const std::string& id) const {
  auto it = sources_.find(id);
  if (it == sources_.end()) return NotFound("not found");
  if (!it->second.env.empty()) {
    const char* v = getenv_(it->second.env.c_str());
    return std::string(v != nullptr ? v : "");
  }
  return ReadSecretFile(it->second.file_path);
}

void SecretsService::Register(rpc::Handlers& handlers) {
  namespace sv = moby::buildkit::secrets::v1;
  handlers[kSecretsGetSecret] = UnaryHandler<sv::GetSecretRequest, sv::GetSecretResponse>(
      [this](rpc::ServerCall&, const sv::GetSecretRequest& req, sv::GetSecretResponse* resp) {
        Result<std::string> v = store_.Get(req.id());
        if (!v.ok()) return v.status();
        if (v->size() > kMaxSecretSize) {
          return Status(Code::kUnknown, fmt::format("invalid secret size {}", v->size()));
        }
        resp->set_data(std::move(*v));
        return Status::Ok();
      });
}

}  // namespace kiln::client
