#include "client/connection.h"

#include <fmt/format.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
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

Result<std::string> GrpcTarget(std::string_view address) {
  if (address.starts_with("unix:")) {
    if (address.size() == 5) return InvalidArgument("empty unix socket address");
    return std::string(address);
  }
  if (address.starts_with("tcp://")) {
    std::string_view host = address.substr(6);
    if (host.empty()) return InvalidArgument(fmt::format("invalid address {}", address));
    return std::string(host);
  }
  return InvalidArgument(fmt::format(
      "unsupported address {}: use unix:///path/to/socket or tcp://host:port", address));
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

Result<std::shared_ptr<grpc::Channel>> Dial(std::string_view address) {
  KILN_ASSIGN_OR_RETURN(std::string target, GrpcTarget(address));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageSize);
  args.SetMaxSendMessageSize(kMaxMessageSize);
  if (target.starts_with("unix:")) args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "localhost");
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  if (channel == nullptr) return Unavailable(fmt::format("cannot create channel to {}", address));
  return channel;
}

}  // namespace kiln::client
