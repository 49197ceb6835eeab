#include <map>
#include <mutex>
#include <set>

#include "solver/keystore.h"
#include "util/sqlite.h"

namespace kiln::solver {
namespace {

class SqliteKeyStore : public CacheKeyStore {
 public:
  explicit SqliteKeyStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  Status Init() {
    return db_->Exec(
        "CREATE TABLE IF NOT EXISTS cache_keys (key TEXT PRIMARY KEY, cachemap TEXT NOT NULL,"
        " output INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS cache_key_inputs (key TEXT NOT NULL, idx INTEGER NOT NULL,"
        " selector TEXT NOT NULL, input_key TEXT NOT NULL,"
        " PRIMARY KEY (key, idx, selector, input_key));"
        "CREATE TABLE IF NOT EXISTS cache_results (key TEXT NOT NULL, result_id TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, PRIMARY KEY (key, result_id));"
        "CREATE INDEX IF NOT EXISTS cache_results_by_id ON cache_results(result_id);");
  }

  Result<std::vector<std::string>> Lookup(const std::string& key) override {
    auto l = db_->Lock();
    KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT result_id FROM cache_results WHERE key=?"
                                                " ORDER BY created_at DESC"));
    st.Bind(1, key);
    std::vector<std::string> out;
    for (;;) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(st.Text(0));
    }
    return out;
  }

  Status Add(const KeyRecord& rec, const std::string& result_id) override {
    auto l = db_->Lock();
    KILN_RETURN_IF_ERROR(db_->Exec("BEGIN"));
    Status s = AddLocked(rec, result_id);
    KILN_RETURN_IF_ERROR(db_->Exec(s.ok() ? "COMMIT" : "ROLLBACK"));
    return s;
  }

  Status RemoveResult(const std::string& result_id) override {
    auto l = db_->Lock();
    KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("DELETE FROM cache_results WHERE result_id=?"));
    return st.Bind(1, result_id).Run();
  }

  Result<int> Sweep(const std::function<bool(const std::string&)>& alive) override {
    auto l = db_->Lock();
    std::set<std::string> ids;
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT DISTINCT result_id FROM cache_results"));
      for (;;) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        ids.insert(st.Text(0));
      }
    }
    int n = 0;
    for (const auto& id : ids) {
      if (alive(id)) continue;
      KILN_RETURN_IF_ERROR(RemoveResult(id));
      n++;
    }
    return n;
  }

 private:
  Status AddLocked(const KeyRecord& rec, const std::string& result_id) {
    {
      KILN_ASSIGN_OR_RETURN(
          Stmt st, db_->Prepare("INSERT OR IGNORE INTO cache_keys(key, cachemap, output) VALUES(?,?,?)"));
      KILN_RETURN_IF_ERROR(st.Bind(1, rec.key).Bind(2, rec.cachemap_digest).Bind(3, rec.output).Run());
    }
    for (const auto& in : rec.inputs) {
      KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("INSERT OR IGNORE INTO cache_key_inputs(key, idx,"
                                                  " selector, input_key) VALUES(?,?,?,?)"));
      KILN_RETURN_IF_ERROR(
          st.Bind(1, rec.key).Bind(2, in.index).Bind(3, in.selector).Bind(4, in.input_key).Run());
    }
    KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("INSERT OR REPLACE INTO cache_results(key, result_id,"
                                                " created_at) VALUES(?,?,?)"));
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return st.Bind(1, rec.key).Bind(2, result_id).Bind(3, static_cast<int64_t>(now)).Run();
  }

  std::unique_ptr<Db> db_;
};

class MemoryKeyStore : public CacheKeyStore {
 public:
  Result<std::vector<std::string>> Lookup(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    auto it = results_.find(key);
    if (it != results_.end()) out.assign(it->second.rbegin(), it->second.rend());
    return out;
  }
  Status Add(const KeyRecord& rec, const std::string& result_id) override {
    std::lock_guard<std::mutex> l(mu_);
    records_[rec.key] = rec;
    auto& v = results_[rec.key];
    std::erase(v, result_id);
    v.push_back(result_id);
    return Status::Ok();
  }
  Status RemoveResult(const std::string& result_id) override {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [k, v] : results_) std::erase(v, result_id);
    return Status::Ok();
  }
  Result<int> Sweep(const std::function<bool(const std::string&)>& alive) override {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (auto& [k, v] : results_) n += static_cast<int>(std::erase_if(v, [&](auto& id) { return !alive(id); }));
    return n;
  }

 private:
  std::mutex mu_;
  std::map<std::string, KeyRecord> records_;
  std::map<std::string, std::vector<std::string>> results_;
};

}  // namespace

Result<std::unique_ptr<CacheKeyStore>> OpenSqliteKeyStore(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(auto db, Db::Open(path));
  auto store = std::make_unique<SqliteKeyStore>(std::move(db));
  KILN_RETURN_IF_ERROR(store->Init().Annotate("cache key store " + path));
  return std::unique_ptr<CacheKeyStore>(std::move(store));
}

std::unique_ptr<CacheKeyStore> NewMemoryKeyStore() { return std::make_unique<MemoryKeyStore>(); }

}  // namespace kiln::solver
