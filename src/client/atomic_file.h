#pragma once
// Files that appear whole or not at all: content goes to a temporary file next to the target,
// which is synced and renamed over it on Commit (like continuity.AtomicWriteFile, which buildctl
// uses for --metadata-file). An uncommitted writer removes its temporary file. Move-only: two
// owners would both try to commit or remove the same temporary file. Not thread-safe.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln::client {

class AtomicFileWriter {
 public:
  // Creates the temporary file. `mode` is applied (minus the umask) at Commit.
  static Result<AtomicFileWriter> Create(const std::string& path, mode_t mode = 0666);

  AtomicFileWriter(AtomicFileWriter&& o) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& o) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  Status Write(std::string_view data);
  // Syncs, closes and renames the temporary file to the target path.
  Status Commit();

 private:
  AtomicFileWriter(std::string path, std::string tmp, int fd, mode_t mode)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd), mode_(mode) {}
  void Abandon();

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  mode_t mode_ = 0666;
};

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0666);

}  // namespace kiln::client
