#pragma once
// Calls the daemon makes on a client session to move files: pulling a --local directory
// (FileSync.DiffCopy, the daemon receives), sending a result directory to the client
// (FileSend.DiffCopy with fsutil packets, the daemon sends) and streaming raw bytes such as a tar
// (FileSend.DiffCopy with BytesMessage chunks).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fsutil/receiver.h"
#include "fsutil/sender.h"
#include "session/session.h"

namespace kiln::session {

inline constexpr char kFileSyncMethod[] = "/moby.filesync.v1.FileSync/DiffCopy";
// kiln's batched FileSync (docs/dev/filesync-batch.md), used when the session advertises it.
inline constexpr char kFileSyncBatchMethod[] = "/kiln.filesync.v1.FileSync/DiffCopyBatch";
inline constexpr char kFileSendMethod[] = "/moby.filesync.v1.FileSend/DiffCopy";

struct LocalSyncRequest {
  std::string dir_name;
  std::vector<std::string> include_patterns;
  std::vector<std::string> exclude_patterns;
  std::vector<std::string> follow_paths;
};

// Makes `dest` mirror the client's directory (only changed files are transferred), over
// DiffCopyBatch when the session serves it, else over BuildKit's DiffCopy.
Status SyncLocalDir(const Context& ctx, Session& s, const LocalSyncRequest& req,
                    const std::string& dest, const fsutil::ReceiveOptions& opts,
                    fsutil::ReceiveStats* stats);

// Sends the tree at `src` to the client's local exporter number `exporter_id`.
Status SendDirToClient(const Context& ctx, Session& s, int exporter_id, const std::string& src,
                       fsutil::SendStats* stats);

// A raw byte stream to the client's file exporter (tar/oci/docker output).
class FileSendWriter {
 public:
  virtual ~FileSendWriter() = default;
  virtual Status Write(std::string_view data) = 0;
  // Ends the stream and waits for the client to finish writing the file.
  virtual Status Close() = 0;
};

Result<std::unique_ptr<FileSendWriter>> OpenFileSend(const Context& ctx, Session& s,
                                                     int exporter_id,
                                                     const std::map<std::string, std::string>& md);

}  // namespace kiln::session
