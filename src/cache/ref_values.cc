// String values kept per committed ref (Manager::SetValue / Values / SearchValues): a table
// beside `refs`, BuildKit's ref metadata with its search index (the http source keeps an
// ETag and the content digest there, found again by a hash of the URL).

#include "cache/manager.h"

namespace kiln::cache {

Status Manager::InitValues() {
  KILN_RETURN_IF_ERROR(
      db_->Exec("CREATE TABLE IF NOT EXISTS ref_values (ref_id TEXT NOT NULL, key TEXT NOT NULL,"
                " value TEXT NOT NULL, search TEXT NOT NULL, PRIMARY KEY (ref_id, key))"));
  return db_->Exec(
      "CREATE INDEX IF NOT EXISTS ref_values_search ON ref_values (search) WHERE search != ''");
}

Status Manager::ForgetValues(const std::string& id) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("DELETE FROM ref_values WHERE ref_id=?"));
  return st.Bind(1, id).Run();
}

Status Manager::SetValue(const std::string& id, const std::string& key, const std::string& value,
                         const std::string& search) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt exists, db_->Prepare("SELECT 1 FROM refs WHERE id=?"));
  exists.Bind(1, id);
  KILN_ASSIGN_OR_RETURN(bool found, exists.Step());
  if (!found) return NotFound("cache: no committed ref " + id + " to record " + key + " for");
  KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("INSERT OR REPLACE INTO ref_values (ref_id, key,"
                                              " value, search) VALUES (?,?,?,?)"));
  return st.Bind(1, id).Bind(2, key).Bind(3, value).Bind(4, search).Run();
}

Result<std::optional<std::string>> Manager::Value(const std::string& id, const std::string& key) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        db_->Prepare("SELECT value FROM ref_values WHERE ref_id=? AND key=?"));
  st.Bind(1, id).Bind(2, key);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Result<std::vector<RefValue>> Manager::SearchValues(const std::string& search) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare("SELECT v.ref_id, v.key, v.value FROM ref_values v JOIN refs r"
                   " ON r.id = v.ref_id WHERE v.search=? ORDER BY r.created_at, v.ref_id"));
  st.Bind(1, search);
  std::vector<RefValue> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(RefValue{st.Text(0), st.Text(1), st.Text(2)});
  }
  return out;
}

}  // namespace kiln::cache
