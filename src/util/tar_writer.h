#pragma once
// Streams POSIX tar archives (ustar headers, PAX extended headers where ustar cannot say it:
// long names and link targets, large sizes and ids, nanosecond mtimes, xattrs as
// "SCHILY.xattr.<name>") into a byte sink. TarWriter writes single entries; WriteTreeTar
// archives a directory tree in a deterministic order. Neither is thread-safe.

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/context.h"
#include "util/fs_copy.h"
#include "util/status.h"

namespace kiln {

// Receives the archive bytes in order. An error stops the writer and is returned to its caller.
using ByteSink = std::function<Status(std::string_view)>;

enum class TarType : char {
  kRegular = '0',
  kHardlink = '1',
  kSymlink = '2',
  kChar = '3',
  kBlock = '4',
  kDir = '5',
  kFifo = '6',
};

struct TarHeader {
  std::string name;  // relative, no leading "./"; directories end with "/"
  TarType type = TarType::kRegular;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0;   // numeric only: uname/gname are left empty
  uint32_t gid = 0;
  int64_t size = 0;  // content bytes, regular files only
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  std::string linkname;  // symlink target, or the earlier entry a hardlink points at
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  std::vector<Xattr> xattrs;
};

class TarWriter {
 public:
  explicit TarWriter(ByteSink sink) : sink_(std::move(sink)) {}
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Starts an entry; the previous one must have received exactly its size in WriteData.
  Status WriteHeader(const TarHeader& h);
  // Content of the current entry, in pieces of any size.
  Status WriteData(std::string_view data);
  // Writes the header h of a regular file and then its h.size content bytes, read from the file
  // at path (opened without following a symlink). DataLoss if the file turns out shorter;
  // cancellation is checked between reads.
  Status WriteFile(const Context& ctx, const TarHeader& h, const std::string& path);
  // Finishes the last entry and writes the end-of-archive marker. Nothing may follow.
  Status Close();

 private:
  Status FinishEntry();
  Status Pad(uint64_t written);
  Status Emit(std::string_view bytes);

  ByteSink sink_;
  std::string entry_;      // name of the current entry, for error messages
  int64_t remaining_ = 0;  // content bytes the current entry still expects
  int64_t written_ = 0;    // content bytes written to the current entry
  bool closed_ = false;
  Status failed_;          // a sink error sticks
  std::vector<char> buf_;  // WriteFile's read buffer, reused
};

// Fills what lstat says about the entry at path, to be archived as `name`: type, permission
// bits, numeric ids, size (regular files), mtime, device numbers, and a symlink's target (read
// from path). A directory's name gets a trailing "/". Xattrs and hardlinks are the caller's.
// Sockets cannot be archived: InvalidArgument.
Status TarHeaderFromStat(const std::string& path, std::string name, const struct stat& st,
                         TarHeader* h);

struct TarOptions {
  // Ownership override for every entry.
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  // Mtimes later than this (unix nanoseconds) are written as this; for reproducible output.
  std::optional<int64_t> clamp_mtime_ns;
  // Which xattrs to archive; unset means all but security.selinux (a host label).
  std::function<bool(std::string_view name)> xattr_filter;
};

// Archives the tree below the directory root (root itself gets no entry) and closes the
// archive. Entries come depth-first with siblings sorted byte-wise, a directory before its
// children; a file with several links inside the tree is archived once and then as hardlink
// entries pointing at the first path; sockets are skipped; symlinks are never followed.
Status WriteTreeTar(const Context& ctx, const std::string& root, const TarOptions& opts,
                    const ByteSink& sink);

}  // namespace kiln
