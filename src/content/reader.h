#pragma once
// content::Reader: reads one committed blob in chunks. Blobs are never modified in place, so a
// reader sees the whole blob even if GC removes it meanwhile (the open file stays readable).
// Move-only (owns a file descriptor); not thread-safe, except ReadAt, which has no shared
// position.

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/digest.h"
#include "util/status.h"

namespace kiln::content {

class Reader {
 public:
  Reader(Reader&& o) noexcept;
  Reader& operator=(Reader&& o) noexcept;
  Reader(const Reader&) = delete;  // owns the descriptor
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  // Opens the blob file at `path`; NotFound names the digest when it is missing.
  static Result<Reader> Open(const Digest& digest, const std::string& path);

  const Digest& digest() const { return digest_; }
  int64_t size() const { return size_; }
  // Reads up to n bytes at the current position; 0 at the end.
  Result<size_t> Read(void* buf, size_t n);
  // Reads up to n bytes at `offset` without moving the position; 0 at the end.
  Result<size_t> ReadAt(int64_t offset, void* buf, size_t n) const;

 private:
  Reader(Digest d, int fd, int64_t size) : digest_(std::move(d)), fd_(fd), size_(size) {}
  Digest digest_;
  int fd_ = -1;
  int64_t size_ = 0;
  int64_t pos_ = 0;
};

}  // namespace kiln::content
