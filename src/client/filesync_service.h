#pragma once
// FileSync.DiffCopy as kilnctl serves it in the session (wire-protocol.md §4.4): the daemon
// names a --local dir in the `dir-name` header, with `include-patterns`, `exclude-patterns`
// and `followpaths` (repeated; URL-query-escaped when `<key>-encoded: 1`), and kilnctl runs the
// fsutil sender over the stream, reporting uid/gid 0 as buildctl does. An unknown name fails
// with NOT_FOUND "no access allowed to dir \"x\"". Thread-safe (handlers run concurrently).

#include <map>
#include <string>
#include <vector>

#include "filesync/filesync.grpc.pb.h"
#include "util/context.h"

namespace kiln::client {

// The request headers, decoded: key -> values (in order), `-encoded` keys applied.
using HeaderMap = std::map<std::string, std::vector<std::string>>;
HeaderMap DecodeHeaders(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// Go's url.QueryUnescape ('+' is a space); malformed escapes are left as they are.
std::string QueryUnescape(std::string_view s);

class FileSyncService final : public moby::filesync::v1::FileSync::Service {
 public:
  // `dirs`: --local name -> host directory. `ctx` is cancelled when the session ends.
  FileSyncService(std::map<std::string, std::string> dirs, Context ctx)
      : dirs_(std::move(dirs)), ctx_(std::move(ctx)) {}

  grpc::Status DiffCopy(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<::fsutil::types::Packet, ::fsutil::types::Packet>* stream) override;

 private:
  const std::map<std::string, std::string> dirs_;
  const Context ctx_;
};

}  // namespace kiln::client
