#include "cache/manager.h"

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "cache/usage_filter.h"
#include "util/log.h"

namespace kiln::cache {

struct RefEntry {
  Manager* mgr;
  RefRecord rec;
};

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomID() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
           static_cast<unsigned long long>(rng()));
  return buf;
}

std::string JoinJson(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

std::vector<std::string> SplitJson(const std::string& s) {
  if (s.empty()) return {};
  auto j = nlohmann::json::parse(s, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (auto& e : j) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

constexpr const char* kColumns =
    "id, snapshot, parent, created_at, last_used, usage_count, description, record_type, size,"
    " whiteouts, chain_id, cache_key";

RefRecord ReadRow(const Stmt& st) {
  RefRecord r;
  r.id = st.Text(0);
  r.snapshot = st.Text(1);
  r.parent = st.Text(2);
  r.created_at = st.Int(3);
  r.last_used = st.Int(4);
  r.usage_count = st.Int(5);
  r.description = st.Text(6);
  r.record_type = st.Text(7);
  r.size = st.Int(8);
  r.whiteouts = SplitJson(st.Text(9));
  r.chain_id = st.Text(10);
  r.cache_key = st.Text(11);
  return r;
}

}  // namespace

const std::string& ImmutableRef::id() const { return entry_->rec.id; }
const RefRecord& ImmutableRef::record() const { return entry_->rec; }

Result<std::unique_ptr<snapshot::Mount>> ImmutableRef::Mount() const {
  if (!entry_) return FailedPrecondition("mount of an empty ref");
  return entry_->mgr->sn_->MountSnapshot(entry_->rec.snapshot, true);
}

Result<std::unique_ptr<snapshot::Mount>> ImmutableRef::View() const {
  if (!entry_) return FailedPrecondition("view of an empty ref");
  auto dirs = entry_->mgr->sn_->DiffDirs(entry_->rec.snapshot);
  if (dirs.ok() && dirs->lowers.empty()) return snapshot::NewPathMount(dirs->upper);
  return Mount();
}

MutableRef::MutableRef(MutableRef&& o) noexcept : mgr_(o.mgr_), rec_(std::move(o.rec_)) {
  o.mgr_ = nullptr;
}

MutableRef& MutableRef::operator=(MutableRef&& o) noexcept {
  if (this != &o) {
    if (mgr_) mgr_->DiscardMutable(rec_);
    mgr_ = o.mgr_;
    rec_ = std::move(o.rec_);
    o.mgr_ = nullptr;
  }
  return *this;
}

MutableRef::~MutableRef() {
  if (mgr_) mgr_->DiscardMutable(rec_);
}

Result<std::unique_ptr<snapshot::Mount>> MutableRef::Mount() {
  if (!mgr_) return FailedPrecondition("mount of a released ref");
  return mgr_->sn_->MountSnapshot(rec_.snapshot, false);
}

Result<ImmutableRef> MutableRef::Commit() {
  if (!mgr_) return FailedPrecondition("commit of a released ref");
  Manager* m = mgr_;
  KILN_RETURN_IF_ERROR(m->sn_->Commit(rec_.snapshot));
  // The size is measured when disk usage is first asked for (as BuildKit does): walking a large
  // step's files here would delay every build for a number only du and prune read.
  rec_.size = -1;
  rec_.last_used = rec_.created_at = NowNs();
  KILN_RETURN_IF_ERROR(m->Insert(rec_));
  mgr_ = nullptr;  // owned by the metadata now
  return m->Get(rec_.id);
}

Result<std::unique_ptr<Manager>> Manager::Open(const std::string& root, snapshot::Snapshotter* sn) {
  KILN_ASSIGN_OR_RETURN(auto db, Db::Open(root + "/metadata.db"));
  std::unique_ptr<Manager> m(new Manager(std::move(db), sn));
  KILN_RETURN_IF_ERROR(m->Init());
  return m;
}

Manager::~Manager() {
  Status s = FlushUses();
  if (!s.ok()) log::Warn("cache: recording ref uses: {}", s.message());
}

Status Manager::Init() {
  KILN_RETURN_IF_ERROR(db_->Exec(
      "CREATE TABLE IF NOT EXISTS refs (id TEXT PRIMARY KEY, snapshot TEXT NOT NULL,"
      " parent TEXT NOT NULL, created_at INTEGER NOT NULL, last_used INTEGER NOT NULL,"
      " usage_count INTEGER NOT NULL, description TEXT NOT NULL, record_type TEXT NOT NULL,"
      " size INTEGER NOT NULL, whiteouts TEXT NOT NULL, chain_id TEXT NOT NULL DEFAULT '')"));
  KILN_RETURN_IF_ERROR(AddColumnIfMissing("chain_id", "TEXT NOT NULL DEFAULT ''"));
  KILN_RETURN_IF_ERROR(AddColumnIfMissing("cache_key", "TEXT NOT NULL DEFAULT ''"));
  KILN_RETURN_IF_ERROR(db_->Exec(
      "CREATE INDEX IF NOT EXISTS refs_chain_id ON refs (chain_id) WHERE chain_id != ''"));
  KILN_RETURN_IF_ERROR(InitBlobs());
  KILN_RETURN_IF_ERROR(InitValues());
  // Repair: snapshots without a committed ref row are leftovers of a crash; rows whose
  // snapshot is gone are dropped.
  KILN_ASSIGN_OR_RETURN(auto recs, LoadAll());
  KILN_ASSIGN_OR_RETURN(auto snaps, sn_->List());
  std::set<std::string> have;
  for (const auto& s : snaps) have.insert(s.key);
  std::set<std::string> wanted;
  for (const auto& r : recs) {
    if (!have.count(r.snapshot)) {
      log::Warn("cache: ref {} lost its snapshot; dropping it", r.id);
      KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("DELETE FROM refs WHERE id=?"));
      KILN_RETURN_IF_ERROR(st.Bind(1, r.id).Run());
      continue;
    }
    wanted.insert(r.snapshot);
  }
  for (const auto& s : snaps) {
    if (!wanted.count(s.key)) {
      log::Info("cache: removing orphaned snapshot {}", s.key);
      KILN_RETURN_IF_ERROR(sn_->Remove(s.key));
    }
  }
  // Blob rows of refs that are gone (dropped above, or by an interrupted prune).
  return db_->Exec("DELETE FROM ref_blobs WHERE ref_id NOT IN (SELECT id FROM refs)");
}

Status Manager::Insert(const RefRecord& r) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare(std::string("INSERT OR REPLACE INTO refs (") +
                                              kColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
  return st.Bind(1, r.id)
      .Bind(2, r.snapshot)
      .Bind(3, r.parent)
      .Bind(4, r.created_at)
      .Bind(5, r.last_used)
      .Bind(6, r.usage_count)
      .Bind(7, r.description)
      .Bind(8, r.record_type)
      .Bind(9, r.size)
      .Bind(10, JoinJson(r.whiteouts))
      .Bind(11, r.chain_id)
      .Bind(12, r.cache_key)
      .Run();
}

// Roots made by an older kiln lack newer columns; add them in place.
Status Manager::AddColumnIfMissing(const std::string& name, const std::string& decl,
                                   const std::string& table) {
  auto l = db_->Lock();
  {
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          db_->Prepare("SELECT name FROM pragma_table_info('" + table + "')"));
    for (;;) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (st.Text(0) == name) return Status::Ok();
    }
  }
  return db_->Exec("ALTER TABLE " + table + " ADD COLUMN " + name + " " + decl);
}

Result<std::optional<ImmutableRef>> Manager::GetByChainID(const std::string& chain_id) {
  std::string id;
  {
    auto l = db_->Lock();
    KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT id FROM refs WHERE chain_id=? LIMIT 1"));
    st.Bind(1, chain_id);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<ImmutableRef>();
    id = st.Text(0);
  }
  KILN_ASSIGN_OR_RETURN(ImmutableRef ref, Get(id));
  return std::optional<ImmutableRef>(std::move(ref));
}

Result<std::vector<RefRecord>> Manager::LoadAll() {
  Status flushed = FlushUses();
  if (!flushed.ok()) log::Warn("cache: recording ref uses: {}", flushed.message());
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare(std::string("SELECT ") + kColumns + " FROM refs"));
  std::vector<RefRecord> out;
  for (;;) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadRow(st));
  }
  return out;
}

void Manager::Touch(const std::string& id) {
  constexpr size_t kMaxPendingUses = 256;
  constexpr auto kMaxUseDelay = std::chrono::seconds(2);
  bool flush = false;
  {
    std::lock_guard<std::mutex> l(uses_mu_);
    PendingUse& u = pending_uses_[id];
    u.last_used = NowNs();
    u.count++;
    flush = pending_uses_.size() >= kMaxPendingUses ||
            std::chrono::steady_clock::now() - uses_written_ >= kMaxUseDelay;
  }
  if (flush) {
    Status s = FlushUses();
    if (!s.ok()) log::Warn("cache: recording ref uses: {}", s.message());
  }
}

Status Manager::FlushUses() {
  std::map<std::string, PendingUse> uses;
  {
    std::lock_guard<std::mutex> l(uses_mu_);
    uses.swap(pending_uses_);
    uses_written_ = std::chrono::steady_clock::now();
  }
  if (uses.empty()) return Status::Ok();
  auto l = db_->Lock();
  KILN_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  Status s = [&]() -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("UPDATE refs SET last_used=max(last_used, ?),"
                                                " usage_count=usage_count+? WHERE id=?"));
    for (const auto& [id, u] : uses) {
      KILN_RETURN_IF_ERROR(st.Bind(1, u.last_used).Bind(2, u.count).Bind(3, id).Run());
      st.Reset();
    }
    return Status::Ok();
  }();
  if (!s.ok()) {
    db_->Exec("ROLLBACK").IgnoreError();
    return s;
  }
  return db_->Exec("COMMIT");
}

void Manager::DiscardMutable(const RefRecord& rec) {
  Status s = sn_->Remove(rec.snapshot);
  if (!s.ok()) log::Warn("cache: discard {}: {}", rec.id, s.message());
}

Result<MutableRef> Manager::New(const Context& ctx, const ImmutableRef* parent,
                                const std::string& description) {
  RefRecord rec;
  rec.id = RandomID();
  rec.snapshot = rec.id;
  rec.description = description;
  rec.record_type = "regular";
  std::string parent_snap;
  if (parent && parent->valid()) {
    rec.parent = parent->id();
    parent_snap = parent->record().snapshot;
  }
  KILN_RETURN_IF_ERROR(sn_->Prepare(ctx, rec.snapshot, parent_snap));
  return MutableRef(this, std::move(rec));
}

Result<ImmutableRef> Manager::Get(const std::string& id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(id);
    if (it != live_.end()) {
      if (auto e = it->second.lock()) return ImmutableRef(e);
    }
  }
  std::optional<RefRecord> rec;
  {
    auto l = db_->Lock();
    KILN_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare(std::string("SELECT ") + kColumns + " FROM refs WHERE id=?"));
    st.Bind(1, id);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) rec = ReadRow(st);
  }
  if (!rec) return NotFound("ref " + id + " not found");
  Touch(id);
  std::lock_guard<std::mutex> l(mu_);
  auto& weak = live_[id];
  if (auto e = weak.lock()) return ImmutableRef(e);
  auto e = std::make_shared<RefEntry>(RefEntry{this, std::move(*rec)});
  weak = e;
  return ImmutableRef(e);
}

Result<Digest> Manager::Checksum(const Context& ctx, const ImmutableRef& ref, std::string_view path,
                                 const ChecksumOptions& opts) {
  // A known checksum needs no mount (a cached rebuild checksums every copy source again).
  if (auto hit = checksums_.Cached(ref.id(), path, opts)) return *hit;
  KILN_ASSIGN_OR_RETURN(auto m, ref.View());
  return checksums_.Checksum(ctx, ref.id(), m->path(), path, opts);
}

Result<std::vector<UsageInfo>> Manager::DiskUsage(const Context& ctx) {
  KILN_ASSIGN_OR_RETURN(auto recs, LoadAll());
  // Cache mount directories change while they live: their size is measured every time.
  // Committed refs are measured once, the first time, and the size is kept.
  for (auto& r : recs) {
    bool cache_mount = !r.cache_key.empty();  // persistent: changes while it lives
    if (!cache_mount && r.size >= 0) continue;
    KILN_RETURN_IF_ERROR(ctx.Err());
    auto size = sn_->Usage(r.snapshot);
    if (!size.ok()) continue;
    r.size = *size;
    if (cache_mount) continue;
    auto l = db_->Lock();
    KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("UPDATE refs SET size=? WHERE id=?"));
    KILN_RETURN_IF_ERROR(st.Bind(1, r.size).Bind(2, r.id).Run());
  }
  std::map<std::string, int> snapshot_users;
  for (const auto& r : recs) snapshot_users[r.snapshot]++;
  std::vector<UsageInfo> out;
  std::lock_guard<std::mutex> l(mu_);
  for (auto& r : recs) {
    UsageInfo u;
    u.in_use = live_.count(r.id) && !live_[r.id].expired();
    u.mutable_ = !r.cache_key.empty();
    u.shared = snapshot_users[r.snapshot] > 1;
    u.rec = std::move(r);
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<UsageInfo>> Manager::Prune(
    const Context& ctx, const PruneOptions& opts,
    const std::function<void(const UsageInfo&)>& on_removed) {
  std::vector<UsageInfo> removed;
  int64_t now = NowNs();
  // Children first: a ref that is another's parent goes in a later round.
  for (bool progress = true; progress;) {
    progress = false;
    KILN_RETURN_IF_ERROR(ctx.Err());
    KILN_ASSIGN_OR_RETURN(auto usage, DiskUsage(ctx));
    int64_t total = 0;
    std::set<std::string> parents;
    for (const auto& u : usage) {
      total += std::max<int64_t>(u.rec.size, 0);
      if (!u.rec.parent.empty()) parents.insert(u.rec.parent);
    }
    // Least recently used first.
    std::sort(usage.begin(), usage.end(), [](const UsageInfo& a, const UsageInfo& b) {
      return a.rec.last_used < b.rec.last_used;
    });
    for (auto& u : usage) {
      if (opts.keep_bytes > 0 && total <= opts.keep_bytes) break;
      if (u.in_use || parents.count(u.rec.id)) continue;
      if (opts.filter && !opts.filter->Match(u)) continue;
      if (!opts.all && opts.keep_duration.count() > 0 &&
          now - u.rec.last_used < opts.keep_duration.count()) {
        continue;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = live_.find(u.rec.id);
        if (it != live_.end() && !it->second.expired()) continue;  // opened meanwhile
        live_.erase(u.rec.id);
        auto dl = db_->Lock();
        KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("DELETE FROM refs WHERE id=?"));
        KILN_RETURN_IF_ERROR(st.Bind(1, u.rec.id).Run());
        KILN_RETURN_IF_ERROR(ForgetBlobs(u.rec.id));
        KILN_RETURN_IF_ERROR(ForgetValues(u.rec.id));
      }
      checksums_.Forget(u.rec.id);
      KILN_RETURN_IF_ERROR(sn_->Remove(u.rec.snapshot));
      total -= std::max<int64_t>(u.rec.size, 0);
      if (on_removed) on_removed(u);
      removed.push_back(u);
      progress = true;
    }
  }
  return removed;
}

Result<PersistentRef> Manager::NewPersistent(const Context& ctx, const ImmutableRef* parent,
                                             const std::string& cache_key,
                                             const std::string& description,
                                             const std::string& record_type) {
  if (cache_key.empty()) return InvalidArgument("cache: a persistent ref needs a cache key");
  RefRecord rec;
  rec.id = RandomID();
  rec.snapshot = rec.id;
  rec.description = description;
  rec.record_type = record_type;
  rec.cache_key = cache_key;
  rec.created_at = rec.last_used = NowNs();
  std::string parent_snap;
  if (parent && parent->valid()) {
    rec.parent = parent->id();
    parent_snap = parent->record().snapshot;
  }
  KILN_RETURN_IF_ERROR(sn_->Prepare(ctx, rec.snapshot, parent_snap));
  Status s = Insert(rec);
  if (!s.ok()) {
    sn_->Remove(rec.snapshot).IgnoreError();
    return s;
  }
  KILN_ASSIGN_OR_RETURN(ImmutableRef h, Get(rec.id));
  return PersistentRef(std::move(h.entry_));
}

Result<std::vector<std::string>> Manager::ListPersistent(const std::string& cache_key) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        db_->Prepare("SELECT id FROM refs WHERE cache_key=? ORDER BY created_at"));
  st.Bind(1, cache_key);
  std::vector<std::string> out;
  for (;;) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.Text(0));
  }
  return out;
}

Result<std::optional<PersistentRef>> Manager::TryOpenPersistent(const std::string& id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(id);
    if (it != live_.end() && !it->second.expired()) return std::optional<PersistentRef>();
  }
  KILN_ASSIGN_OR_RETURN(ImmutableRef h, Get(id));
  if (h.record().cache_key.empty()) {
    return FailedPrecondition("ref " + id + " is not a persistent ref");
  }
  // Get() may have found it opened meanwhile by another caller: then it is not ours.
  if (h.entry_.use_count() > 1) return std::optional<PersistentRef>();
  return std::optional<PersistentRef>(PersistentRef(std::move(h.entry_)));
}

Result<std::unique_ptr<snapshot::Mount>> PersistentRef::Mount() const {
  if (!entry_) return FailedPrecondition("mount of an empty cache mount ref");
  return entry_->mgr->sn_->MountSnapshot(entry_->rec.snapshot, false);
}

const std::string& PersistentRef::id() const { return entry_->rec.id; }

Result<std::vector<std::string>> Manager::ListIDs() {
  KILN_ASSIGN_OR_RETURN(auto recs, LoadAll());
  std::vector<std::string> out;
  for (auto& r : recs) out.push_back(r.id);
  return out;
}

}  // namespace kiln::cache
