#include "content/store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "util/fd_io.h"
#include "util/fs_copy.h"

namespace kiln::content {

namespace {

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoStatus(ec.value(), "create " + dir);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& root) {
  std::unique_ptr<Store> s(new Store(root));
  KILN_RETURN_IF_ERROR(s->Init());
  return s;
}

Store::~Store() = default;

Status Store::Init() {
  KILN_RETURN_IF_ERROR(MakeDirs(root_ + "/blobs/sha256"));
  // Leftovers of writers that died with an earlier process.
  KILN_RETURN_IF_ERROR(RemoveAll(root_ + "/ingest"));
  KILN_RETURN_IF_ERROR(MakeDirs(root_ + "/ingest"));
  return LoadRoots();
}

std::string Store::Path(const Digest& digest) const {
  return root_ + "/blobs/sha256/" + std::string(digest.hex());
}

Result<Info> Store::Stat(const Digest& digest) const {
  struct stat st;
  if (::stat(Path(digest).c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("content " + digest.str() + ": not found");
    return ErrnoStatus(errno, "stat " + Path(digest));
  }
  return Info{digest, st.st_size};
}

bool Store::Has(const Digest& digest) const { return Stat(digest).ok(); }

Result<Reader> Store::OpenBlob(const Digest& digest) const {
  return Reader::Open(digest, Path(digest));
}

Result<std::string> Store::ReadAll(const Digest& digest, int64_t max_bytes) const {
  KILN_ASSIGN_OR_RETURN(Reader r, OpenBlob(digest));
  if (r.size() > max_bytes) {
    return ResourceExhausted("content " + digest.str() + " is " + std::to_string(r.size()) +
                             " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::string out(static_cast<size_t>(r.size()), '\0');
  size_t off = 0;
  while (off < out.size()) {
    KILN_ASSIGN_OR_RETURN(size_t n, r.Read(out.data() + off, out.size() - off));
    if (n == 0) return DataLoss("content " + digest.str() + ": short read");
    off += n;
  }
  return out;
}

Result<Writer> Store::NewWriter(const Context& ctx, const Digest& digest, int64_t expected_size) {
  KILN_RETURN_IF_ERROR(ctx.Err());
  std::string tmpl = root_ + "/ingest/XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "create ingest in " + root_ + "/ingest");
  return Writer(this, ctx, fd, std::move(tmpl), digest, expected_size);
}

Result<Info> Store::WriteBlob(const Context& ctx, std::string_view data, const Digest& digest,
                              Lease* lease) {
  KILN_ASSIGN_OR_RETURN(Writer w, NewWriter(ctx, digest, static_cast<int64_t>(data.size())));
  KILN_RETURN_IF_ERROR(w.Write(data));
  return w.Commit(lease);
}

Status Store::PlaceBlob(const std::string& tmp, const Digest& digest, Lease* lease) {
  std::string dst = Path(digest);
  {
    std::lock_guard<std::mutex> l(mu_);
    // Replacing an existing blob is harmless: same digest, same bytes.
    if (::rename(tmp.c_str(), dst.c_str()) != 0) return ErrnoStatus(errno, "commit " + dst);
    if (lease != nullptr && lease->valid()) leases_[lease->id()].insert(digest);
  }
  return SyncDir(root_ + "/blobs/sha256");
}

Result<Info> Store::Ensure(const Context& ctx, const Digest& digest, int64_t size,
                           const FetchFn& fetch, Lease* lease) {
  // Registered before taking mu_: it may run inline when ctx is already cancelled. Declared
  // before the lock so the lock is released first (Reset waits for a running callback).
  auto wake = ctx.OnCancel([this](const Status&) {
    std::lock_guard<std::mutex> l(mu_);
    ingest_cv_.notify_all();
  });
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    Result<Info> have = Stat(digest);
    if (have.ok()) {
      if (lease != nullptr && lease->valid()) leases_[lease->id()].insert(digest);
      return have;
    }
    if (have.status().code() != Code::kNotFound) return have.status();
    KILN_RETURN_IF_ERROR(ctx.Err());
    if (!ingesting_.contains(digest)) break;
    ingest_cv_.wait(l);
  }
  ingesting_.insert(digest);
  l.unlock();
  Result<Info> r = Fetch(ctx, digest, size, fetch, lease);
  l.lock();
  ingesting_.erase(digest);
  ingest_cv_.notify_all();
  return r;
}

Result<Info> Store::Fetch(const Context& ctx, const Digest& digest, int64_t size,
                          const FetchFn& fetch, Lease* lease) {
  KILN_ASSIGN_OR_RETURN(Writer w, NewWriter(ctx, digest, size));
  KILN_RETURN_IF_ERROR(fetch(ctx, w));
  return w.Commit(lease);
}

}  // namespace kiln::content
