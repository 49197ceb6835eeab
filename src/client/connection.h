#pragma once
// Daemon addresses and gRPC channels to them. buildctl's rules: --addr wins, then $KILN_HOST
// (like $BUILDKIT_HOST), then the default socket. Channels carry 64 MiB message limits both
// ways (the Go clients use 16 MiB; large LLB definitions do happen). Thread-safe free functions.

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln::client {

inline constexpr char kDefaultAddress[] = "unix:///run/kiln/kilnd.sock";
inline constexpr char kHostEnv[] = "KILN_HOST";
inline constexpr int kMaxMessageSize = 64 << 20;

struct ResolvedAddress {
  std::string address;
  bool is_default = false;  // neither --addr nor $KILN_HOST named it
};

// `flag` is the --addr value ("" when not given); `env` the value of $KILN_HOST (may be null).
ResolvedAddress ResolveAddress(std::string_view flag, const char* env);

// The gRPC target for an address: unix:///path and unix:path pass through, tcp://host:port
// becomes host:port. Anything else is InvalidArgument.
Result<std::string> GrpcTarget(std::string_view address);

// The filesystem path of a unix:// address, or "" for other schemes.
std::string UnixSocketPath(std::string_view address);

// True when a process accepts connections on the unix socket at `path` right now.
bool UnixSocketAnswers(const std::string& path);

Result<std::shared_ptr<grpc::Channel>> Dial(std::string_view address);

}  // namespace kiln::client
