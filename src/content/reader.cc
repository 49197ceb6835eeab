#include "content/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace kiln::content {

Reader::Reader(Reader&& o) noexcept
    : digest_(std::move(o.digest_)), fd_(std::exchange(o.fd_, -1)), size_(o.size_), pos_(o.pos_) {}

Reader& Reader::operator=(Reader&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    digest_ = std::move(o.digest_);
    fd_ = std::exchange(o.fd_, -1);
    size_ = o.size_;
    pos_ = o.pos_;
  }
  return *this;
}

Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Reader> Reader::Open(const Digest& digest, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("content " + digest.str() + ": not found");
    return ErrnoStatus(errno, "open " + path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = ErrnoStatus(errno, "stat " + path);
    ::close(fd);
    return s;
  }
  return Reader(digest, fd, st.st_size);
}

Result<size_t> Reader::Read(void* buf, size_t n) {
  KILN_ASSIGN_OR_RETURN(size_t got, ReadAt(pos_, buf, n));
  pos_ += static_cast<int64_t>(got);
  return got;
}

Result<size_t> Reader::ReadAt(int64_t offset, void* buf, size_t n) const {
  if (fd_ < 0) return FailedPrecondition("content reader is closed");
  for (;;) {
    ssize_t got = ::pread(fd_, buf, n, offset);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return ErrnoStatus(errno, "read content " + digest_.str());
  }
}

}  // namespace kiln::content
