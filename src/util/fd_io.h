#pragma once
// Whole-buffer writes to sockets, retried on EINTR and short writes. Stateless, thread-safe.

#include <string_view>

namespace kiln {

// Sends all of `data` on socket `fd` (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
// False when the peer is gone or the socket fails.
bool SendAll(int fd, std::string_view data);

}  // namespace kiln
