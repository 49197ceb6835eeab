#include "content/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "content/store.h"

namespace kiln::content {

Writer::Writer(Store* store, Context ctx, int fd, std::string tmp, Digest expected, int64_t size)
    : store_(store),
      ctx_(std::move(ctx)),
      fd_(fd),
      tmp_(std::move(tmp)),
      expected_(std::move(expected)),
      expected_size_(size),
      hash_(std::make_unique<Sha256>()) {}

Writer::Writer(Writer&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)),
      ctx_(o.ctx_),
      fd_(std::exchange(o.fd_, -1)),
      tmp_(std::move(o.tmp_)),
      expected_(std::move(o.expected_)),
      expected_size_(o.expected_size_),
      written_(o.written_),
      hash_(std::move(o.hash_)) {
  o.tmp_.clear();
}

Writer& Writer::operator=(Writer&& o) noexcept {
  if (this != &o) {
    Discard();
    store_ = std::exchange(o.store_, nullptr);
    ctx_ = o.ctx_;
    fd_ = std::exchange(o.fd_, -1);
    tmp_ = std::exchange(o.tmp_, std::string());
    expected_ = std::move(o.expected_);
    expected_size_ = o.expected_size_;
    written_ = o.written_;
    hash_ = std::move(o.hash_);
  }
  return *this;
}

Writer::~Writer() { Discard(); }

void Writer::Discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
  store_ = nullptr;
}

Status Writer::Write(std::string_view data) {
  if (fd_ < 0) return FailedPrecondition("content writer already committed or failed");
  KILN_RETURN_IF_ERROR(ctx_.Err());
  if (expected_size_ >= 0 && written_ + static_cast<int64_t>(data.size()) > expected_size_) {
    std::string what = expected_.empty() ? std::string("blob") : expected_.str();
    return DataLoss("size mismatch for " + what + ": expected " + std::to_string(expected_size_) +
                    " bytes, got more");
  }
  hash_->Update(data);
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + tmp_);
    }
    data.remove_prefix(static_cast<size_t>(n));
    written_ += n;
  }
  return Status::Ok();
}

Status Writer::Truncate() {
  if (fd_ < 0) return FailedPrecondition("content writer already committed or failed");
  if (::ftruncate(fd_, 0) != 0) return ErrnoStatus(errno, "truncate " + tmp_);
  if (::lseek(fd_, 0, SEEK_SET) != 0) return ErrnoStatus(errno, "seek " + tmp_);
  written_ = 0;
  hash_ = std::make_unique<Sha256>();
  return Status::Ok();
}

Result<Info> Writer::Commit(Lease* lease) {
  if (fd_ < 0) return FailedPrecondition("content writer already committed or failed");
  Digest actual = hash_->Final();
  std::string what = expected_.empty() ? actual.str() : expected_.str();
  if (expected_size_ >= 0 && written_ != expected_size_) {
    Discard();
    return DataLoss("size mismatch for " + what + ": expected " + std::to_string(expected_size_) +
                    " bytes, got " + std::to_string(written_));
  }
  if (!expected_.empty() && actual != expected_) {
    Discard();
    return DataLoss("digest mismatch for " + expected_.str() + ": got " + actual.str());
  }
  if (Status s = ctx_.Err(); !s.ok()) {
    Discard();
    return s;
  }
  if (::fchmod(fd_, 0444) != 0 || ::fsync(fd_) != 0) {
    Status s = ErrnoStatus(errno, "sync " + tmp_);
    Discard();
    return s;
  }
  ::close(std::exchange(fd_, -1));
  Store* store = store_;
  Status placed = store->PlaceBlob(tmp_, actual, lease);
  if (!placed.ok()) {
    Discard();
    return placed;
  }
  tmp_.clear();
  store_ = nullptr;
  return Info{actual, written_};
}

}  // namespace kiln::content
