#include "util/sqlite.h"

#include <sqlite3.h>

namespace kiln {

namespace {
// Statements kept per SQL text: as many as are in use at once, up to this.
constexpr size_t kCachedPerSql = 4;
}  // namespace

Stmt::~Stmt() {
  if (s_) db_->Release(s_);
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}

Result<bool> Stmt::Step() {
  for (int tries = 0;; tries++) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_BUSY && tries < 100) {
      sqlite3_sleep(10);
      continue;
    }
    return Internal("sqlite " + db_->path() + ": " + db_->ErrorMessage());
  }
}

Status Stmt::Run() {
  for (;;) {
    KILN_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Stmt::Reset() { sqlite3_reset(s_); }

std::string Stmt::Text(int col) const {
  const unsigned char* t = sqlite3_column_text(s_, col);
  int n = sqlite3_column_bytes(s_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n)) : std::string();
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(s_, col); }

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  std::unique_ptr<Db> db(new Db());
  db->path_ = path;
  int rc =
      sqlite3_open_v2(path.c_str(), &db->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return Internal("open metadata database " + path + ": " +
                    (db->db_ ? sqlite3_errmsg(db->db_) : "out of memory"));
  }
  sqlite3_busy_timeout(db->db_, 5000);
  KILN_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  return db;
}

Db::~Db() {
  for (auto& [sql, stmts] : cache_) {
    for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);
  }
  if (db_) sqlite3_close_v2(db_);
}

void Db::Release(sqlite3_stmt* s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  const char* sql = sqlite3_sql(s);
  if (sql != nullptr) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    std::vector<sqlite3_stmt*>& free = cache_[sql];
    if (free.size() < kCachedPerSql) {
      free.push_back(s);
      return;
    }
  }
  sqlite3_finalize(s);
}

Status Db::Exec(std::string_view sql) {
  auto l = Lock();
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Internal("sqlite " + path_ + ": " + msg);
  }
  return Status::Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end() && !it->second.empty()) {
      sqlite3_stmt* s = it->second.back();
      it->second.pop_back();
      return Stmt(this, s);
    }
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    return Internal("sqlite prepare: " + ErrorMessage());
  }
  return Stmt(this, s);
}

std::string Db::ErrorMessage() const { return sqlite3_errmsg(db_); }

}  // namespace kiln
