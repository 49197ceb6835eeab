#pragma once
// FileSync.DiffCopy as kilnctl serves it in the session (wire-protocol.md §4.4): the daemon
// names a --local dir in the `dir-name` header, with `include-patterns`, `exclude-patterns`
// and `followpaths` (repeated; URL-query-escaped when `<key>-encoded: 1`), and kilnctl runs the
// fsutil sender over the stream, reporting uid/gid 0 as buildctl does. An unknown name fails
// with NOT_FOUND "no access allowed to dir \"x\"". FileSyncBatchService serves the same over
// kiln's DiffCopyBatch (proto/kiln/filesync.proto, docs/dev/filesync-batch.md): same headers,
// several packets per message. Thread-safe (handlers run concurrently).

#include <map>
#include <string>
#include <vector>

#include "client/session_handlers.h"
#include "fsutil/packet_stream.h"
#include "util/context.h"

namespace kiln::client {

inline constexpr char kFileSyncDiffCopy[] = "/moby.filesync.v1.FileSync/DiffCopy";
inline constexpr char kFileSyncDiffCopyBatch[] = "/kiln.filesync.v1.FileSync/DiffCopyBatch";

// The request headers, decoded: key -> values (in order), `-encoded` keys applied.
using HeaderMap = std::map<std::string, std::vector<std::string>>;
HeaderMap DecodeHeaders(const rpc::Metadata& metadata);

// Go's url.QueryUnescape ('+' is a space); malformed escapes are left as they are.
std::string QueryUnescape(std::string_view s);

// Runs the fsutil sender for the --local dir a FileSync call names in its headers, over
// `packets`. `dirs`: --local name -> host directory; `base` is cancelled when the session ends.
Status ServeDiffCopy(const std::map<std::string, std::string>& dirs, const Context& base,
                     const rpc::ServerCall& call, fsutil::PacketStream& packets);

// FileSync.DiffCopy and, with `batch`, kiln's FileSync.DiffCopyBatch.
class FileSyncService final : public SessionService {
 public:
  // `dirs`: --local name -> host directory. `ctx` is cancelled when the session ends.
  FileSyncService(std::map<std::string, std::string> dirs, Context ctx, bool batch)
      : dirs_(std::move(dirs)), ctx_(std::move(ctx)), batch_(batch) {}
  void Register(rpc::Handlers& handlers) override;

 private:
  const std::map<std::string, std::string> dirs_;
  const Context ctx_;
  const bool batch_;
};

}  // namespace kiln::client
