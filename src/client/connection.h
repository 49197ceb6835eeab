#pragma once
// Daemon addresses and connections to them (kiln's own transport, rpc/connection.h).
// buildctl's rules: --addr wins, then $KILN_HOST (like $BUILDKIT_HOST), then the default
// socket. Messages up to 64 MiB are received (the Go clients take 16 MiB; large LLB
// definitions do happen). Thread-safe free functions.

#include <memory>
#include <string>
#include <string_view>

#include "rpc/connection.h"
#include "util/status.h"

namespace kiln::client {

inline constexpr char kDefaultAddress[] = "unix:///run/kiln/kilnd.sock";
inline constexpr char kHostEnv[] = "KILN_HOST";

struct ResolvedAddress {
  std::string address;
  bool is_default = false;  // neither --addr nor $KILN_HOST named it
};

// `flag` is the --addr value ("" when not given); `env` the value of $KILN_HOST (may be null).
ResolvedAddress ResolveAddress(std::string_view flag, const char* env);

// The filesystem path of a unix:// address, or "" for other schemes.
std::string UnixSocketPath(std::string_view address);

// True when a process accepts connections on the unix socket at `path` right now.
bool UnixSocketAnswers(const std::string& path);

// Connects to the daemon at `address` (unix:///path, unix:path or tcp://host:port; anything
// else is InvalidArgument); UNAVAILABLE when nothing answers there.
Result<std::unique_ptr<rpc::Connection>> Dial(std::string_view address);

}  // namespace kiln::client
