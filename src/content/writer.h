#pragma once
// content::Writer: one ingest into the content store. Bytes go to a temp file under
// <root>/ingest and are hashed (SHA-256) as they are written; Commit() checks the size and the
// digest, fsyncs the file and renames it into <root>/blobs/sha256/<hex> atomically. A writer
// destroyed without a successful Commit() removes its temp file, so a failed or cancelled ingest
// leaves nothing behind. Move-only (it owns the temp file); not thread-safe: one owner writes.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::content {

class Lease;
class Store;

// What the store knows about a committed blob.
struct Info {
  Digest digest;
  int64_t size = 0;
};

class Writer {
 public:
  Writer(Writer&& o) noexcept;
  Writer& operator=(Writer&& o) noexcept;
  Writer(const Writer&) = delete;  // owns the temp file
  Writer& operator=(const Writer&) = delete;
  ~Writer();  // removes the temp file unless committed

  // Appends data. Fails with the context's cause once it is cancelled, and with DataLoss as soon
  // as more bytes than the expected size arrive.
  Status Write(std::string_view data);

  // Verifies size and digest (when they were given) and moves the blob into place. If `lease`
  // is given, the blob is added to it in the same step, so GC cannot remove it in between.
  // A mismatch is DataLoss naming the expected and the actual value; the temp file is removed.
  // After Commit (successful or not) the writer is spent.
  Result<Info> Commit(Lease* lease = nullptr);

  // Drops what was written so far (e.g. before a retried download starts again from zero).
  Status Truncate();

  int64_t written() const { return written_; }
  const Digest& expected_digest() const { return expected_; }
  int64_t expected_size() const { return expected_size_; }

 private:
  friend class Store;
  Writer(Store* store, Context ctx, int fd, std::string tmp, Digest expected, int64_t size);
  void Discard();

  Store* store_ = nullptr;
  Context ctx_;
  int fd_ = -1;
  std::string tmp_;
  Digest expected_;             // empty: any digest is accepted
  int64_t expected_size_ = -1;  // -1: unknown
  int64_t written_ = 0;
  std::unique_ptr<Sha256> hash_;
};

}  // namespace kiln::content
