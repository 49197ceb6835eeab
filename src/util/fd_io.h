#pragma once
// Whole-buffer writes to files and sockets, retried on EINTR and short writes; directory syncs.
// Stateless, thread-safe.

#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln {

// Sends all of `data` on socket `fd` (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
// False when the peer is gone or the socket fails.
bool SendAll(int fd, std::string_view data);

// Writes all of `data` to `fd` (a file or pipe); the error is errno's, as "write: ...".
Status WriteAll(int fd, std::string_view data);

// fsyncs the directory `dir` (so renames into it are durable); errors name it.
Status SyncDir(const std::string& dir);

}  // namespace kiln
