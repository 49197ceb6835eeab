#pragma once
// A directory as a containerd content store, as buildctl serves the OCI layout directory of
// `--output type=oci,dest=DIR,tar=false` (BuildKit's contentlocal.NewStore, containerd's local
// store): committed blobs are read-only files at DIR/blobs/sha256/<hex>; an ingest in progress
// is a temporary file in DIR/ingest/, hashed as it is written and renamed into place by Commit
// once its size and digest check out. A failed, aborted or abandoned ingest leaves nothing
// behind, and ingests are not kept across writers (no resume: a new writer starts at 0).
// One writer per ref at a time (another gets Unavailable "ref … locked", as containerd's);
// writers of different refs run concurrently. Errors carry containerd's codes and messages
// (FailedPrecondition "unexpected commit digest …", AlreadyExists "content …: already exists").
// Thread-safe; an Ingest belongs to one thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "content/reader.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::client {

struct BlobInfo {
  Digest digest;
  int64_t size = 0;
  int64_t updated_unix_nanos = 0;  // the file's mtime (containerd's CreatedAt and UpdatedAt)
};

struct IngestStatus {
  std::string ref;
  int64_t offset = 0;
  int64_t total = 0;  // 0: not known
  Digest expected;    // empty: not known
  int64_t started_unix_nanos = 0;
  int64_t updated_unix_nanos = 0;
};

class DirContentStore;

// One writer of one ref. Move-only: it owns the temporary file and the ref's lock.
class Ingest {
 public:
  Ingest(Ingest&& o) noexcept;
  Ingest& operator=(Ingest&& o) noexcept;
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;
  ~Ingest();  // removes the temporary file unless committed; unlocks the ref

  int64_t offset() const { return offset_; }
  IngestStatus status() const;
  Status Write(std::string_view data);
  // Drops what was written (a writer starting again at offset 0).
  Status Truncate();
  // Checks `size` (when > 0) and `expected` (when not empty) and moves the blob into place.
  // The ingest is spent afterwards, whatever the outcome.
  Result<Digest> Commit(int64_t size, const Digest& expected);

 private:
  friend class DirContentStore;
  struct State;
  Ingest(DirContentStore* store, std::shared_ptr<State> state, int fd, std::string tmp);
  Status CheckLive() const;
  void Release();

  DirContentStore* store_ = nullptr;
  std::shared_ptr<State> state_;  // shared with the store's table, for Status and Abort
  int fd_ = -1;
  std::string tmp_;
  int64_t offset_ = 0;
  std::unique_ptr<Sha256> hash_;
};

class DirContentStore {
 public:
  // Creates `dir` (0755, with parents) when missing.
  static Result<std::unique_ptr<DirContentStore>> Open(const std::string& dir);
  ~DirContentStore();  // removes DIR/ingest when it made it and it is empty
  DirContentStore(const DirContentStore&) = delete;
  DirContentStore& operator=(const DirContentStore&) = delete;

  const std::string& dir() const { return dir_; }
  std::string BlobPath(const Digest& d) const;

  // NotFound "content <digest>: not found".
  Result<BlobInfo> Info(const Digest& d) const;
  Result<content::Reader> OpenBlob(const Digest& d) const;

  // A writer for `ref`; `total` and `expected` may be unknown (0, empty). AlreadyExists when
  // the expected blob is already here.
  Result<Ingest> StartIngest(const std::string& ref, int64_t total, const Digest& expected);
  // The ingest `ref` in progress; NotFound when there is none.
  Result<IngestStatus> GetStatus(const std::string& ref) const;
  // Stops the ingest `ref`: its writer fails from its next call on and leaves nothing.
  Status Abort(const std::string& ref);

 private:
  friend class Ingest;
  explicit DirContentStore(std::string dir) : dir_(std::move(dir)) {}
  void Unlock(const std::string& ref);

  const std::string dir_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Ingest::State>> ingests_;  // guarded by mu_
  bool made_ingest_dir_ = false;                                   // guarded by mu_
};

}  // namespace kiln::client
