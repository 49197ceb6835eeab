#pragma once
// FileSend.DiffCopy as kilnctl serves it in the session (wire-protocol.md §4.6). The proto
// declares BytesMessage, but a directory export sends fsutil Packets on the same method, so
// each target decides how to parse the messages: a directory target runs the fsutil receiver (files
// keep kilnctl's own uid/gid and are merged into what the directory already holds); a file target
// appends BytesMessage.data to a temporary file renamed into place when the stream ends cleanly, or
// writes to stdout for "-". The header `buildkit-attachable-exporter-id` (default 0) picks the
// target by --output index. Thread-safe.

#include <map>
#include <string>

#include "client/session_handlers.h"
#include "util/context.h"

namespace kiln::client {

struct ExportTarget {
  std::string output_dir;   // set for directory targets
  std::string output_file;  // set for file targets; "-" is stdout
};

inline constexpr char kFileSendDiffCopy[] = "/moby.filesync.v1.FileSend/DiffCopy";

class FileSendService final : public SessionService {
 public:
  // `targets` by exporter index. `ctx` is cancelled when the session ends. `stdout_fd` receives
  // "-" targets.
  FileSendService(std::map<int, ExportTarget> targets, Context ctx, int stdout_fd = 1)
      : targets_(std::move(targets)), ctx_(std::move(ctx)), stdout_fd_(stdout_fd) {}
  void Register(rpc::Handlers& handlers) override;

 private:
  Status DiffCopy(rpc::ServerCall& call);
  Status ReceiveDir(rpc::ServerCall& call, const std::string& dest);
  Status ReceiveFile(rpc::ServerCall& call, const std::string& dest);

  const std::map<int, ExportTarget> targets_;
  const Context ctx_;
  const int stdout_fd_;
};

}  // namespace kiln::client
