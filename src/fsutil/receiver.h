#pragma once
// The receiving side of the fsutil packet protocol (wire-protocol.md §4.5): the daemon for
// FileSync.DiffCopy (--local sources), the client for the local exporter.
//
// Receive makes `dest` mirror the sender's listing. It is incremental: when `dest` already holds
// an earlier copy, an entry whose metadata (type, mode, uid/gid, size, mtime ns, symlink target,
// device numbers, xattrs) matches is left alone and its content is not requested; entries the
// sender did not list are removed. Directory modes and times are applied after their children.
//
// The stream is validated as it arrives (see stream_validator.h); a violation is an
// InvalidArgument error naming the path, reported to the sender as ERR. Nothing is ever created,
// changed or removed outside `dest`: symlinks inside it are never followed (dest_dir.h).
// Thread-safe free function; it runs on the calling thread.

#include <cstdint>
#include <functional>
#include <string>

#include "fsutil/packet_stream.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::fsutil {

struct ReceiveOptions {
  // Apply the sender's uid/gid (lchown). The client-side local exporter sets this to false:
  // files then belong to the receiving process and ownership is not compared.
  bool chown = true;
  // Called with the cumulative number of bytes received on the stream (all packets, as
  // upstream's progress callback), for "transferring <name>:" progress.
  std::function<void(int64_t bytes)> progress;
};

struct ReceiveStats {
  int64_t entries = 0;          // entries listed by the sender
  int64_t files_requested = 0;  // files whose content was requested (REQ)
  int64_t bytes_received = 0;   // file content bytes written
  int64_t entries_removed = 0;  // stale entries removed from dest
  // Entries created or changed in dest (content or metadata); 0 means dest is as it was,
  // apart from entries_removed. Hardlinks always count (they are recreated).
  int64_t entries_written = 0;
};

Status Receive(const Context& ctx, PacketStream& stream, const std::string& dest,
               const ReceiveOptions& opts, ReceiveStats* stats);

}  // namespace kiln::fsutil
