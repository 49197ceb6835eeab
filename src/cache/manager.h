#pragma once
// The cache manager: refs to snapshots with their metadata in SQLite under the daemon root
// (BuildKit's cache.Manager). An ImmutableRef is a committed result, shareable; a MutableRef is a
// writable snapshot being built, move-only, removed unless committed. A ref with an open handle
// is "in use" and is never pruned. Metadata survives restarts; an interrupted write is repaired
// at open. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cache/contenthash.h"
#include "snapshot/snapshotter.h"
#include "util/sqlite.h"

namespace kiln::cache {

class Manager;

struct RefRecord {
  std::string id;
  std::string snapshot;
  std::string parent;
  int64_t created_at = 0;  // unix ns
  int64_t last_used = 0;   // unix ns
  int64_t usage_count = 0;
  std::string description;
  std::string record_type;             // "regular", "internal", "frontend", "source.local", ...
  int64_t size = -1;                   // bytes, -1 until computed
  std::vector<std::string> whiteouts;  // paths a diff result deletes when applied on a base
  // For unpacked image layers: the OCI chain ID of the layers this ref holds (its own layer on
  // top of its parent's chain), so images sharing layers share the unpacked refs.
  std::string chain_id;
  // For persistent refs (cache mounts, shared git repositories): the key they are found by.
  std::string cache_key;
};

// A layer blob made from (or pulled as) a ref's diff against its parent, remembered so that an
// export reuses it instead of diffing and compressing again (BuildKit keeps the same in its ref
// metadata). `variant` names how it was made (the exporter's key: compression, level, epoch);
// the blob itself lives in the content store and may have been collected since.
struct BlobRecord {
  std::string variant;
  std::string media_type;
  std::string digest;  // "sha256:..."
  int64_t size = 0;
  std::string diff_id;             // "sha256:..." of the uncompressed tar
  int64_t uncompressed_size = -1;  // -1: not known (pulled layers)
  // For pulled blobs: the repository they came from ("docker.io/library/busybox"), so a push to
  // another repository of that registry can mount them instead of uploading.
  std::string source;
};

// A string value recorded for a ref (Manager::SetValue).
struct RefValue {
  std::string ref_id;
  std::string key;
  std::string value;
};

// The variant of a blob that came from a registry with the image the ref was unpacked from.
inline constexpr std::string_view kPulledBlobVariant = "pulled";

// The ref value (Manager::Value) listing a merge result's inputs, as a JSON array of ref ids in
// merge order: the image exporter writes their layers rather than one flat layer.
inline constexpr char kMergeInputsKey[] = "merge.inputs";

// The record type of cache mount directories (persistent writable refs), as BuildKit names it.
inline constexpr char kCacheMountRecordType[] = "exec.cachemount";

struct RefEntry;

class ImmutableRef {
 public:
  ImmutableRef() = default;
  bool valid() const { return entry_ != nullptr; }
  const std::string& id() const;
  const RefRecord& record() const;
  // A read-only view of the ref's tree; keep the handle while reading.
  Result<std::unique_ptr<snapshot::Mount>> Mount() const;
  // The same tree for reading in this process only, without a mount where the snapshot is one
  // directory (a single overlay layer, a native snapshot): a bind mount and its unmount cost
  // about a millisecond, which cached builds paid for every file a frontend read. Nothing
  // enforces read-only here: never write there, nor hand the path to a container.
  Result<std::unique_ptr<snapshot::Mount>> View() const;

 private:
  friend class Manager;
  explicit ImmutableRef(std::shared_ptr<RefEntry> e) : entry_(std::move(e)) {}
  std::shared_ptr<RefEntry> entry_;
};

// A persistent writable ref: a cache mount's directory, or a git source's shared repository
// (what has a cache_key). It is never committed and outlives builds and restarts (a metadata
// row from creation on); Prune removes it when no handle is open.
// One handle per ref at a time (TryOpenPersistent refuses a second); copies share that handle.
class PersistentRef {
 public:
  PersistentRef() = default;
  bool valid() const { return entry_ != nullptr; }
  const std::string& id() const;
  // A writable view of the directory; keep the handle while it is used.
  Result<std::unique_ptr<snapshot::Mount>> Mount() const;

 private:
  friend class Manager;
  explicit PersistentRef(std::shared_ptr<RefEntry> e) : entry_(std::move(e)) {}
  std::shared_ptr<RefEntry> entry_;
};

class MutableRef {
 public:
  MutableRef() = default;
  MutableRef(MutableRef&&) noexcept;
  MutableRef& operator=(MutableRef&&) noexcept;
  MutableRef(const MutableRef&) = delete;  // one writer owns a writable snapshot
  MutableRef& operator=(const MutableRef&) = delete;
  ~MutableRef();  // removes the snapshot unless committed

  bool valid() const { return mgr_ != nullptr; }
  const std::string& id() const { return rec_.id; }
  Result<std::unique_ptr<snapshot::Mount>> Mount();
  void SetWhiteouts(std::vector<std::string> w) { rec_.whiteouts = std::move(w); }
  void SetRecordType(std::string t) { rec_.record_type = std::move(t); }
  void SetChainID(std::string c) { rec_.chain_id = std::move(c); }
  // The snapshot behind this ref (for writing into it without a mount, e.g. layer apply).
  const std::string& snapshot_key() const { return rec_.snapshot; }
  // Makes the snapshot immutable and records it; this handle becomes invalid.
  Result<ImmutableRef> Commit();

 private:
  friend class Manager;
  MutableRef(Manager* m, RefRecord rec) : mgr_(m), rec_(std::move(rec)) {}
  Manager* mgr_ = nullptr;
  RefRecord rec_;
};

struct UsageInfo {
  RefRecord rec;
  bool in_use = false;
  bool mutable_ = false;
  bool shared = false;
};

class UsageFilter;

struct PruneOptions {
  bool all = false;                           // also refs used recently
  std::chrono::nanoseconds keep_duration{0};  // keep refs used within this long
  int64_t keep_bytes = 0;  // stop once total usage is at most this (0: prune all)
  std::shared_ptr<const UsageFilter> filter;  // only records it matches (all when null)
};

class Manager {
 public:
  static Result<std::unique_ptr<Manager>> Open(const std::string& root, snapshot::Snapshotter* sn);
  ~Manager();

  // A new writable ref holding `parent`'s tree (scratch when parent is null or invalid).
  Result<MutableRef> New(const Context& ctx, const ImmutableRef* parent,
                         const std::string& description);
  Result<ImmutableRef> Get(const std::string& id);
  // The committed ref holding the layer chain `chain_id`, or nullopt.
  Result<std::optional<ImmutableRef>> GetByChainID(const std::string& chain_id);
  // Host-independent content checksum of `path` in `ref`, cached per ref.
  Result<Digest> Checksum(const Context& ctx, const ImmutableRef& ref, std::string_view path,
                          const ChecksumOptions& opts);

  Result<std::vector<UsageInfo>> DiskUsage(const Context& ctx);
  // Removes refs not in use (and their snapshots); `on_removed` hears each one.
  Result<std::vector<UsageInfo>> Prune(const Context& ctx, const PruneOptions& opts,
                                       const std::function<void(const UsageInfo&)>& on_removed);
  // A new persistent writable ref found later by `cache_key` (not empty), holding `parent`'s
  // tree (or empty), opened (in use) by the returned handle.
  Result<PersistentRef> NewPersistent(const Context& ctx, const ImmutableRef* parent,
                                      const std::string& cache_key, const std::string& description,
                                      const std::string& record_type = kCacheMountRecordType);
  // Ids of the persistent refs with `cache_key`, oldest first.
  Result<std::vector<std::string>> ListPersistent(const std::string& cache_key);
  // A handle on the persistent ref `id`, or nullopt if another handle is open.
  Result<std::optional<PersistentRef>> TryOpenPersistent(const std::string& id);

  // Layer blobs recorded for committed ref `id` (any variant); SetBlob adds or replaces one
  // variant. Rows go with the ref when it is pruned.
  Result<std::vector<BlobRecord>> Blobs(const std::string& id);
  Status SetBlob(const std::string& id, const BlobRecord& blob);

  // String values kept for committed ref `id` (BuildKit's ref metadata): `value` under `key`,
  // replacing an earlier one, found again by SearchValues(search) when `search` is not empty.
  // Rows go with the ref when it is pruned.
  Status SetValue(const std::string& id, const std::string& key, const std::string& value,
                  const std::string& search = "");
  // The value recorded for `id` under `key`, nullopt when there is none.
  Result<std::optional<std::string>> Value(const std::string& id, const std::string& key);
  // The values recorded with this search term, of refs that still exist, oldest ref first.
  Result<std::vector<RefValue>> SearchValues(const std::string& search);

  // Ids of all committed refs (for sweeping the cache key store).
  Result<std::vector<std::string>> ListIDs();

  snapshot::Snapshotter* snapshotter() { return sn_; }

 private:
  friend class MutableRef;
  friend class PersistentRef;
  friend class ImmutableRef;
  Manager(std::unique_ptr<Db> db, snapshot::Snapshotter* sn) : db_(std::move(db)), sn_(sn) {}
  Status Init();
  Status InitBlobs();  // blobs.cc
  Status ForgetBlobs(const std::string& id);
  Status InitValues();  // ref_values.cc
  Status ForgetValues(const std::string& id);
  Status AddColumnIfMissing(const std::string& name, const std::string& decl,
                            const std::string& table = "refs");
  Status Insert(const RefRecord& rec);
  Result<std::vector<RefRecord>> LoadAll();
  // Records a use of ref id (last_used, usage_count). Uses are kept in memory and written in
  // one transaction by FlushUses: every 256 uses, 2 s after the last write, before anything
  // reads the records back (LoadAll) and at destruction. A cached rebuild gets hundreds of refs,
  // and one autocommit UPDATE each was a large part of its time.
  void Touch(const std::string& id);
  Status FlushUses();
  void DiscardMutable(const RefRecord& rec);

  std::unique_ptr<Db> db_;
  snapshot::Snapshotter* sn_;
  ChecksumCache checksums_;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<RefEntry>> live_;  // open refs, guarded by mu_
  struct PendingUse {
    int64_t last_used = 0;
    int64_t count = 0;
  };
  std::mutex uses_mu_;
  std::map<std::string, PendingUse> pending_uses_;         // guarded by uses_mu_
  std::chrono::steady_clock::time_point uses_written_{};  // guarded by uses_mu_
};

}  // namespace kiln::cache
