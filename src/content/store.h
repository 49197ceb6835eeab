#pragma once
// The content store (containerd's content store in small): immutable blobs by digest.
//
// Layout under the root directory:
//   blobs/sha256/<hex>  committed blobs, read-only, never modified in place
//   ingest/<random>     temp files of writers in progress (removed when the store opens)
//   roots.json          the persistent root set (name -> digests), replaced atomically
//
// Writing goes through a Writer (hashing while writing, verified and renamed on Commit).
// Ensure() makes concurrent ingests of one digest download once: the first caller runs its
// fetch function, the others wait (each with its own Context); if the first fails, the next
// waiter tries with its own fetch function (it may have other credentials).
//
// GC keeps blobs referenced by a live Lease or by a persistent root and removes all others.
// Leases are in memory only (a dead process holds none); roots persist across restarts.
//
// One Store per root directory per process. Thread-safe; Writers, Readers and Leases it hands
// out are owned by one caller each and must not outlive it. Lock order: Store::mu_ is a leaf
// (no callback, fetch function or I/O wait runs while it is held, except GC's unlinks).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "content/lease.h"
#include "content/reader.h"
#include "content/writer.h"
#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"

namespace kiln::content {

struct GCStats {
  int64_t blobs_removed = 0;
  int64_t bytes_removed = 0;
};

class Store {
 public:
  // Downloads (or otherwise produces) the blob into the writer; Ensure commits it.
  using FetchFn = std::function<Status(const Context&, Writer&)>;

  // Opens (creating if needed) the store at `root`; removes leftover ingests.
  static Result<std::unique_ptr<Store>> Open(const std::string& root);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& root() const { return root_; }

  // --- reading ---
  // Size of a committed blob; NotFound names the digest.
  Result<Info> Stat(const Digest& digest) const;
  bool Has(const Digest& digest) const;
  // Where the blob lives (whether or not it exists yet).
  std::string Path(const Digest& digest) const;
  Result<Reader> OpenBlob(const Digest& digest) const;
  // The whole blob, for small JSON blobs; ResourceExhausted if larger than max_bytes.
  Result<std::string> ReadAll(const Digest& digest, int64_t max_bytes) const;

  // --- writing ---
  // A writer for a blob expected to have `digest` (empty: not known in advance) and
  // `expected_size` bytes (-1: unknown).
  Result<Writer> NewWriter(const Context& ctx, const Digest& digest, int64_t expected_size);
  // Writes `data` as one blob and commits it (digest checked when non-empty).
  Result<Info> WriteBlob(const Context& ctx, std::string_view data, const Digest& digest = {},
                         Lease* lease = nullptr);
  // Makes sure the blob exists: returns it if present (fetch is not called), otherwise runs
  // fetch into a fresh writer and commits it, once however many callers ask at the same time.
  // Waiters leave with their context's cause when it is cancelled. If `lease` is given, the
  // blob is added to it before GC can see it.
  Result<Info> Ensure(const Context& ctx, const Digest& digest, int64_t size, const FetchFn& fetch,
                      Lease* lease = nullptr);

  // --- leases and roots ---
  // A new lease; its id is id_hint plus a unique suffix.
  Lease NewLease(const std::string& id_hint);
  // Sets the persistent root `name` to exactly `digests` (written to disk before returning).
  Status AddRoot(const std::string& name, const std::vector<Digest>& digests);
  // Removes the persistent root `name` (a missing name is fine).
  Status RemoveRoot(const std::string& name);
  std::map<std::string, std::vector<Digest>> Roots() const;

  // Removes every blob not referenced by a live lease, a persistent root or an ingest in
  // progress; returns what was reclaimed.
  Result<GCStats> GC(const Context& ctx);

 private:
  friend class Lease;
  friend class Writer;
  explicit Store(std::string root) : root_(std::move(root)) {}
  Status Init();
  Status LoadRoots();
  Status SaveRootsLocked();
  // Called by Writer::Commit: renames tmp into place and adds to lease, under mu_.
  Status PlaceBlob(const std::string& tmp, const Digest& digest, Lease* lease);
  void AddToLease(const std::string& id, const Digest& digest);
  void ReleaseLease(const std::string& id);
  Result<Info> Fetch(const Context& ctx, const Digest& digest, int64_t size, const FetchFn& fetch,
                     Lease* lease);

  const std::string root_;
  mutable std::mutex mu_;
  std::condition_variable ingest_cv_;                 // ingesting_ shrank
  std::set<Digest> ingesting_;                        // guarded by mu_
  std::map<std::string, std::set<Digest>> leases_;    // guarded by mu_
  std::map<std::string, std::vector<Digest>> roots_;  // guarded by mu_
  uint64_t next_lease_ = 0;                           // guarded by mu_
};

}  // namespace kiln::content
