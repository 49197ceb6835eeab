#pragma once
// FileSend.DiffCopy as kilnctl serves it in the session (wire-protocol.md §4.6). The proto
// declares BytesMessage, but a directory export sends fsutil Packets on the same method, so the
// service is registered raw (ByteBuffer in, ByteBuffer out) and each target decides how to
// parse: a directory target runs the fsutil receiver (files keep kilnctl's own uid/gid and are
// merged into what the directory already holds); a file target appends BytesMessage.data to a
// temporary file renamed into place when the stream ends cleanly, or writes to stdout for "-".
// The header `buildkit-attachable-exporter-id` (default 0) picks the target by --output index.
// Thread-safe.

#include <grpcpp/impl/service_type.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <map>
#include <string>

#include "util/context.h"

namespace kiln::client {

struct ExportTarget {
  std::string output_dir;   // set for directory targets
  std::string output_file;  // set for file targets; "-" is stdout
};

inline constexpr char kFileSendDiffCopy[] = "/moby.filesync.v1.FileSend/DiffCopy";

class FileSendService final : public grpc::Service {
 public:
  // `targets` by exporter index. `ctx` is cancelled when the session ends. `stdout_fd` receives
  // "-" targets.
  FileSendService(std::map<int, ExportTarget> targets, Context ctx, int stdout_fd = 1);

  grpc::Status DiffCopy(grpc::ServerContext* context,
                        grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream);

 private:
  grpc::Status ReceiveDir(grpc::ServerContext* context,
                          grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream,
                          const std::string& dest);
  grpc::Status ReceiveFile(grpc::ServerContext* context,
                           grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream,
                           const std::string& dest);

  const std::map<int, ExportTarget> targets_;
  const Context ctx_;
  const int stdout_fd_;
};

}  // namespace kiln::client
