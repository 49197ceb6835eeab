#include "client/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace kiln::client {

namespace {

mode_t CurrentUmask() {
  mode_t m = umask(0);
  umask(m);
  return m;
}

}  // namespace

Result<AtomicFileWriter> AtomicFileWriter::Create(const std::string& path, mode_t mode) {
  std::string dir = ".";
  std::string base = path;
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  std::string tmp = (dir == "/" ? "" : dir) + "/." + base + ".tmp-XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "create temporary file for " + path);
  return AtomicFileWriter(path, std::move(tmp), fd, mode);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& o) noexcept
    : path_(std::move(o.path_)),
      tmp_(std::move(o.tmp_)),
      fd_(std::exchange(o.fd_, -1)),
      mode_(o.mode_) {
  o.tmp_.clear();
}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& o) noexcept {
  if (this != &o) {
    Abandon();
    path_ = std::move(o.path_);
    tmp_ = std::exchange(o.tmp_, std::string());
    fd_ = std::exchange(o.fd_, -1);
    mode_ = o.mode_;
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) unlink(tmp_.c_str());
  tmp_.clear();
}

Status AtomicFileWriter::Write(std::string_view data) {
  if (fd_ < 0) return FailedPrecondition("write to a closed file");
  while (!data.empty()) {
    ssize_t n = write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + path_);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return FailedPrecondition("commit of a closed file");
  if (fchmod(fd_, mode_ & ~CurrentUmask()) != 0) return ErrnoStatus(errno, "chmod " + tmp_);
  if (fsync(fd_) != 0) return ErrnoStatus(errno, "sync " + tmp_);
  int fd = std::exchange(fd_, -1);
  if (close(fd) != 0) return ErrnoStatus(errno, "close " + tmp_);
  if (rename(tmp_.c_str(), path_.c_str()) != 0) return ErrnoStatus(errno, "rename to " + path_);
  tmp_.clear();
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  KILN_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(path, mode));
  KILN_RETURN_IF_ERROR(w.Write(data));
  return w.Commit();
}

}  // namespace kiln::client
