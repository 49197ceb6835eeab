#pragma once
// The receiving side of the fsutil packet protocol (wire-protocol.md §4.5): the daemon for
// FileSync.DiffCopy (--local sources), the client for the local exporter.
//
// Receive makes `dest` mirror the sender's listing. It is incremental: when `dest` already holds
// an earlier copy, an entry whose metadata (type, mode, uid/gid, size, mtime ns, symlink target,
// device numbers, xattrs) matches is left alone and its content is not requested; entries the
// sender did not list are removed. Directory modes and times are applied after their children.
// REQ packets go through SendBuffered: on a batching stream they are written in batches, at the
// latest when the receiver waits for the next packet.
//
// The stream is validated as it arrives (see stream_validator.h); a violation is an
// InvalidArgument error naming the path, reported to the sender as ERR. Nothing is ever created,
// changed or removed outside `dest`: symlinks inside it are never followed (dest_dir.h).
// Thread-safe free function; it runs on the calling thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "fsutil/packet_stream.h"
#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::fsutil {

struct ReceiveOptions {
  // Apply the sender's uid/gid (lchown). The client-side local exporter sets this to false:
  // files then belong to the receiving process and ownership is not compared.
  bool chown = true;
  // Called with the cumulative number of bytes received on the stream (all packets, as
  // upstream's progress callback), for "transferring <name>:" progress.
  std::function<void(int64_t bytes)> progress;
  // What the caller knows of the xattrs in `dest`, to save reading them for every entry. Set it
  // only when dest is exactly what an earlier successful Receive left there (nothing else writes
  // to it), to that Receive's ReceiveStats::xattr_paths. An existing entry that is not in the
  // set and is listed without xattrs then has the right (no) xattrs without looking; every other
  // entry is compared as usual, so changed, added and removed xattrs are all still transferred.
  // Unset: the xattrs of every existing entry are read and compared.
  std::optional<std::unordered_set<std::string>> dest_xattr_paths;
  // Called for each regular file whose content this Receive wrote, once it is complete, with its
  // path (as the sender lists it) and the sha256 of the bytes written, hashed as they arrived;
  // callers use it instead of reading the files again for content checksums.
  std::function<void(const std::string& path, const Digest& content)> on_file_content;
  // Called once, before the first change to dest (none when dest already matches the listing);
  // an error fails the Receive before anything is changed.
  std::function<Status()> before_first_change;
  // Return as soon as dest is complete and the receiver's FIN is sent, without waiting for the
  // sender's FIN: nothing the sender still sends can change dest. The caller must then end the
  // stream with FinishAfterFin (a cached build does that off its critical path: the sender's
  // answer is a whole round trip through the session tunnel). On an error Receive still ends
  // the stream itself, as without this option.
  bool return_at_fin = false;
};

// More paths with xattrs than this and ReceiveStats::xattr_paths is not kept.
inline constexpr size_t kMaxXattrPaths = 4096;

struct ReceiveStats {
  int64_t entries = 0;          // entries listed by the sender
  int64_t files_requested = 0;  // files whose content was requested (REQ)
  int64_t bytes_received = 0;   // file content bytes written
  int64_t entries_removed = 0;  // stale entries removed from dest
  // Entries created or changed in dest (content or metadata); 0 means dest is as it was,
  // apart from entries_removed. Hardlinks always count (they are recreated).
  int64_t entries_written = 0;
  // The paths whose entries in dest may have xattrs once this Receive has succeeded: those
  // listed with xattrs, and hardlinks (they share their target's). Unset when there were more
  // than kMaxXattrPaths. Feeds ReceiveOptions::dest_xattr_paths of the next Receive into dest.
  std::optional<std::vector<std::string>> xattr_paths = std::vector<std::string>();
};

Status Receive(const Context& ctx, PacketStream& stream, const std::string& dest,
               const ReceiveOptions& opts, ReceiveStats* stats);

// The end of a stream that Receive left with return_at_fin: reads the sender's FIN, half-closes
// and reads to the end of the stream. An error means the sender did not end the transfer as the
// protocol says (dest is complete all the same).
Status FinishAfterFin(PacketStream& stream);

}  // namespace kiln::fsutil
