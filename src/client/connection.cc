#include "client/connection.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace kiln::client {

ResolvedAddress ResolveAddress(std::string_view flag, const char* env) {
  if (!flag.empty()) return {std::string(flag), false};
  if (env != nullptr && env[0] != '\0') return {env, false};
  return {kDefaultAddress, true};
}

std::string UnixSocketPath(std::string_view address) {
  if (address.starts_with("unix://")) return std::string(address.substr(7));
  if (address.starts_with("unix:")) return std::string(address.substr(5));
  return "";
}

bool UnixSocketAnswers(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

Result<std::unique_ptr<rpc::Connection>> Dial(std::string_view address) {
  if (address.starts_with("unix:") && address.size() == 5) {
    return InvalidArgument("empty unix socket address");
  }
  if (address == "tcp://") return InvalidArgument(fmt::format("invalid address {}", address));
  return rpc::Connection::Dial(address);
}

}  // namespace kiln::client
