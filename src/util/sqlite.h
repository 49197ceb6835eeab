#pragma once
// A thin SQLite wrapper returning Status. A Db serialises its use with a mutex (SQLite in
// multi-thread mode), so a Db is thread-safe; a Stmt belongs to one call. Prepared statements
// are kept for reuse: a Stmt that goes away is reset and returned to its Db, and the next
// Prepare of the same SQL text takes it back instead of compiling the SQL again (compiling was
// ~4% of the daemon's CPU in a cached build).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kiln {

class Db;

class Stmt {
 public:
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, int64_t v);
  // Steps once: true if a row is ready, false when done.
  Result<bool> Step();
  // Runs to completion, ignoring rows.
  Status Run();
  // Makes the statement ready to run again (bindings are kept until rebound).
  void Reset();
  std::string Text(int col) const;
  int64_t Int(int col) const;

 private:
  friend class Db;
  Stmt(Db* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Db* db_;
  sqlite3_stmt* s_;
};

class Db {
 public:
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status Exec(std::string_view sql);
  Result<Stmt> Prepare(std::string_view sql);
  // Holds the db for a sequence of statements (a transaction or a multi-step read).
  std::unique_lock<std::recursive_mutex> Lock() { return std::unique_lock(mu_); }
  std::string ErrorMessage() const;
  const std::string& path() const { return path_; }

 private:
  friend class Stmt;
  Db() = default;
  // Takes back a statement no longer in use (Stmt's destructor).
  void Release(sqlite3_stmt* s);

  sqlite3* db_ = nullptr;
  std::string path_;
  std::recursive_mutex mu_;
  std::mutex cache_mu_;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> cache_;  // guarded by cache_mu_
};

}  // namespace kiln
