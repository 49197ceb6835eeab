#include "client/dir_content_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "util/fd_io.h"

namespace kiln::client {

namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// mkdir -p with `mode` for what it creates.
Status MakeDirs(const std::string& path, mode_t mode) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string cur = path.substr(0, pos);
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return ErrnoStatus(errno, "mkdir " + cur);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition(path + " is not a directory");
  return Status::Ok();
}

}  // namespace

// What Status and Abort see of a running ingest; guarded by the store's mu_.
struct Ingest::State {
  IngestStatus status;
  bool aborted = false;
};

// --- Ingest ---

Ingest::Ingest(DirContentStore* store, std::shared_ptr<State> state, int fd, std::string tmp)
    : store_(store),
      state_(std::move(state)),
      fd_(fd),
      tmp_(std::move(tmp)),
      hash_(std::make_unique<Sha256>()) {}

Ingest::Ingest(Ingest&& o) noexcept { *this = std::move(o); }

Ingest& Ingest::operator=(Ingest&& o) noexcept {
  if (this != &o) {
    Release();
    store_ = std::exchange(o.store_, nullptr);
    state_ = std::move(o.state_);
    fd_ = std::exchange(o.fd_, -1);
    tmp_ = std::move(o.tmp_);
    offset_ = std::exchange(o.offset_, 0);
    hash_ = std::move(o.hash_);
  }
  return *this;
}

Ingest::~Ingest() { Release(); }

void Ingest::Release() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!tmp_.empty()) {
    ::unlink(tmp_.c_str());
    tmp_.clear();
  }
  if (store_ != nullptr) {
    store_->Unlock(state_->status.ref);
    store_ = nullptr;
  }
}

IngestStatus Ingest::status() const {
  if (store_ == nullptr) return {};
  std::lock_guard<std::mutex> l(store_->mu_);
  return state_->status;
}

Status Ingest::CheckLive() const {
  if (store_ == nullptr) return FailedPrecondition("cannot use a closed writer");
  std::lock_guard<std::mutex> l(store_->mu_);
  if (state_->aborted) {
    return Status(Code::kAborted, fmt::format("ingest ref \"{}\" was aborted", state_->status.ref));
  }
  return Status::Ok();
}

Status Ingest::Write(std::string_view data) {
  KILN_RETURN_IF_ERROR(CheckLive());
  std::string_view rest = data;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + tmp_);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  hash_->Update(data);
  offset_ += static_cast<int64_t>(data.size());
  std::lock_guard<std::mutex> l(store_->mu_);
  state_->status.offset = offset_;
  state_->status.updated_unix_nanos = NowNanos();
  return Status::Ok();
}

Status Ingest::Truncate() {
  KILN_RETURN_IF_ERROR(CheckLive());
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
    return ErrnoStatus(errno, "truncate " + tmp_);
  }
  hash_ = std::make_unique<Sha256>();
  offset_ = 0;
  std::lock_guard<std::mutex> l(store_->mu_);
  state_->status.offset = 0;
  state_->status.updated_unix_nanos = NowNanos();
  return Status::Ok();
}

Result<Digest> Ingest::Commit(int64_t size, const Digest& expected) {
  Status live = CheckLive();
  if (!live.ok()) {
    Release();
    return live;
  }
  // Spent from here on: every return below leaves nothing but a committed blob.
  struct Spend {
    Ingest* self;
    ~Spend() { self->Release(); }
  } spend{this};
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, "sync " + tmp_);
  if (size > 0 && size != offset_) {
    return FailedPrecondition(fmt::format("unexpected commit size {}, expected {}", offset_, size));
  }
  Digest actual = hash_->Final();
  if (!expected.empty() && expected != actual) {
    return FailedPrecondition(
        fmt::format("unexpected commit digest {}, expected {}", actual.str(), expected.str()));
  }
  const std::string dir = store_->dir() + "/blobs/sha256";
  KILN_RETURN_IF_ERROR(MakeDirs(dir, 0755));
  const std::string target = store_->BlobPath(actual);
  if (::access(target.c_str(), F_OK) == 0) {
    return AlreadyExists(fmt::format("content {}: already exists", actual.str()));
  }
  // Read-only, as containerd leaves committed blobs.
  if (::fchmod(fd_, 0444) != 0) return ErrnoStatus(errno, "chmod " + tmp_);
  if (::rename(tmp_.c_str(), target.c_str()) != 0) return ErrnoStatus(errno, "commit " + target);
  tmp_.clear();  // nothing to remove any more
  KILN_RETURN_IF_ERROR(SyncDir(dir));
  return actual;
}

// --- DirContentStore ---

Result<std::unique_ptr<DirContentStore>> DirContentStore::Open(const std::string& dir) {
  if (dir.empty()) return InvalidArgument("content store directory is empty");
  KILN_RETURN_IF_ERROR(MakeDirs(dir, 0755));
  return std::unique_ptr<DirContentStore>(new DirContentStore(dir));
}

DirContentStore::~DirContentStore() {
  if (made_ingest_dir_) ::rmdir((dir_ + "/ingest").c_str());  // kept when not empty
}

std::string DirContentStore::BlobPath(const Digest& d) const {
  return dir_ + "/blobs/sha256/" + std::string(d.hex());
}

Result<BlobInfo> DirContentStore::Info(const Digest& d) const {
  struct stat st {};
  if (::stat(BlobPath(d).c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound(fmt::format("content {}: not found", d.str()));
    return ErrnoStatus(errno, "stat " + BlobPath(d));
  }
  return BlobInfo{d, st.st_size,
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

Result<content::Reader> DirContentStore::OpenBlob(const Digest& d) const {
  return content::Reader::Open(d, BlobPath(d));
}

Result<Ingest> DirContentStore::StartIngest(const std::string& ref, int64_t total,
                                            const Digest& expected) {
  if (ref.empty()) return InvalidArgument("ref must not be empty");
  if (!expected.empty() && ::access(BlobPath(expected).c_str(), F_OK) == 0) {
    return AlreadyExists(fmt::format("content {}: already exists", expected.str()));
  }
  std::lock_guard<std::mutex> l(mu_);
  if (ingests_.contains(ref)) return Unavailable(fmt::format("ref {} locked", ref));
  const std::string ingest_dir = dir_ + "/ingest";
  if (::mkdir(ingest_dir.c_str(), 0755) == 0) {
    made_ingest_dir_ = true;
  } else if (errno != EEXIST) {
    return ErrnoStatus(errno, "mkdir " + ingest_dir);
  }
  std::string tmp = ingest_dir + "/XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "create an ingest in " + ingest_dir);
  auto state = std::make_shared<Ingest::State>();
  state->status = IngestStatus{ref, 0, total, expected, NowNanos(), 0};
  state->status.updated_unix_nanos = state->status.started_unix_nanos;
  ingests_[ref] = state;
  return Ingest(this, std::move(state), fd, std::move(tmp));
}

Result<IngestStatus> DirContentStore::GetStatus(const std::string& ref) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = ingests_.find(ref);
  if (it == ingests_.end()) return NotFound(fmt::format("ingest ref \"{}\": not found", ref));
  return it->second->status;
}

Status DirContentStore::Abort(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = ingests_.find(ref);
  if (it == ingests_.end()) return NotFound(fmt::format("ingest ref \"{}\": not found", ref));
  it->second->aborted = true;
  return Status::Ok();
}

void DirContentStore::Unlock(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  ingests_.erase(ref);
}

}  // namespace kiln::client
