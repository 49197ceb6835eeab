#pragma once
// The sending side of the fsutil packet protocol (wire-protocol.md §4.5): the client for
// FileSync.DiffCopy, the daemon for the local exporter's FileSend.DiffCopy.
//
// Send walks `root` (walker.h) and streams one STAT per entry (its ID is its 0-based index in
// the listing; like Go's sender the ID field of STAT packets is left unset), then an empty STAT.
// Meanwhile it answers REQ{ID} with 32 KiB DATA chunks and a final empty DATA, up to
// kMaxFilesInFlight files at a time. STAT and DATA packets go through SendBuffered, and a
// worker Flushes before it waits for another request, so on a batching stream (batch_stream.h)
// they travel in batches without ever being held back. On FIN it replies FIN, half-closes and
// returns OK. An ERR from the receiver becomes the returned error; a local failure is sent as
// ERR.
// Thread-safe free function; it runs a walker and worker threads internally.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fsutil/packet_stream.h"
#include "fsutil/walker.h"
#include "util/context.h"
#include "util/status.h"

namespace kiln::fsutil {

inline constexpr size_t kDataChunkSize = size_t{32} * 1024;
inline constexpr int kMaxFilesInFlight = 4;

struct SendStats {
  int64_t entries = 0;     // STATs sent, without the end-of-listing marker
  int64_t files_sent = 0;  // files whose content was requested and sent
  int64_t bytes_sent = 0;  // file content bytes sent
};

Status Send(const Context& ctx, PacketStream& stream, const std::string& root,
            const WalkOptions& opts, SendStats* stats);

}  // namespace kiln::fsutil
