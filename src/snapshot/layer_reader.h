#pragma once
// Streams the entries of a layer blob: a tar archive, plain or compressed with gzip or zstd (the
// compression is detected from the first bytes), read with libarchive through a pull callback so
// that a layer of any size passes through a fixed-size buffer. Only reading happens here: the
// files are created by the layer applier (apply.h), never by libarchive. Not thread-safe.
//
// Two libarchive readers are chained so that the uncompressed stream is hashed in the same pass
// (its sha256 is the layer's diff ID): the first decompresses (the "raw" format: its data is the
// whole uncompressed stream), the second reads tar entries from the first's data blocks, which
// are hashed as they pass. Finish() hashes what follows the tar's end (padding, trailing
// zero blocks, anything else) by reading the uncompressed stream to its end, as containerd does.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/context.h"
#include "util/digest.h"
#include "util/fs_copy.h"
#include "util/status.h"

struct archive;
struct archive_entry;

namespace kiln::snapshot {

// Puts up to `len` next bytes of the blob in `buf` and returns how many; 0 at the end.
using ByteSource = std::function<Result<size_t>(char* buf, size_t len)>;

// A ByteSource over an open file descriptor (not owned; read from its current offset).
ByteSource FdSource(int fd);

// One tar entry as the applier needs it. Names are the raw bytes from the archive (the PAX
// UTF-8 form when there is one), not cleaned.
struct LayerEntry {
  std::string name;
  std::string hardlink;  // set for a hardlink entry: the path it links to
  std::string symlink;   // a symlink's target
  uint32_t type = 0;     // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK or S_IFIFO
  uint32_t perm = 0;     // 07777 bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t size = 0;  // content bytes of a regular file
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
  bool has_atime = false;  // PAX atime (or GNU atime) present
  int64_t atime_sec = 0;
  int64_t atime_nsec = 0;
  uint64_t rdev = 0;          // devices
  std::vector<Xattr> xattrs;  // from SCHILY.xattr.* (and LIBARCHIVE.xattr.*) records
};

class LayerReader {
 public:
  explicit LayerReader(ByteSource src);
  ~LayerReader();
  LayerReader(const LayerReader&) = delete;  // owns the libarchive handle
  LayerReader& operator=(const LayerReader&) = delete;

  // Reads the next header into *e; false at the end of the archive. A corrupt or truncated
  // stream is DataLoss naming the position (Position()); an error of the source is returned
  // as it is.
  Result<bool> Next(LayerEntry* e);

  // The next piece of the current regular file's content: *data/*n at byte *offset of the file
  // (a sparse file can skip offsets). *n == 0 at the end of the content.
  Status ReadData(const void** data, size_t* n, int64_t* offset);

  // After Next() returned false: reads the rest of the uncompressed stream and returns its
  // sha256 over all of it (the diff ID). A corrupt or truncated stream after the tar's end is
  // DataLoss; cancellation is checked between blocks.
  Result<Digest> Finish(const Context& ctx);

  // Entries read so far (the current one included).
  int64_t entries() const { return entries_; }
  // "entry 12 (\"usr/bin/x\"), tar offset 40960": where the stream is, for error messages.
  std::string Position() const;

 private:
  friend struct LayerReaderCallbacks;
  Status Fail(int rc);
  Status Open();
  // The next block of the uncompressed stream (hashed); *n == 0 at its end.
  Status NextBlock(const void** data, size_t* n);

  ByteSource src_;
  struct archive* raw_ = nullptr;  // decompresses src_: the blob
  struct archive* a_ = nullptr;    // reads tar entries from raw_'s data
  std::vector<char> buf_;
  Status source_error_;  // set when the source failed; libarchive only sees "read error"
  Sha256 hash_;          // of the uncompressed bytes raw_ gave so far
  bool raw_eof_ = false;
  bool opened_ = false;
  bool failed_ = false;
  bool finished_ = false;
  int64_t entries_ = 0;
  std::string current_;  // name of the current entry
};

}  // namespace kiln::snapshot
