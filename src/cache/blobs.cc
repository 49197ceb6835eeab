// The layer blobs remembered per ref (Manager::Blobs / SetBlob): a table beside `refs`.

#include "cache/manager.h"

namespace kiln::cache {

Status Manager::InitBlobs() {
  KILN_RETURN_IF_ERROR(db_->Exec(
      "CREATE TABLE IF NOT EXISTS ref_blobs (ref_id TEXT NOT NULL, variant TEXT NOT NULL,"
      " media_type TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL,"
      " diff_id TEXT NOT NULL, uncompressed_size INTEGER NOT NULL, source TEXT NOT NULL,"
      " PRIMARY KEY (ref_id, variant))"));
  return AddColumnIfMissing("source", "TEXT NOT NULL DEFAULT ''", "ref_blobs");
}

Status Manager::ForgetBlobs(const std::string& id) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("DELETE FROM ref_blobs WHERE ref_id=?"));
  return st.Bind(1, id).Run();
}

Result<std::vector<BlobRecord>> Manager::Blobs(const std::string& id) {
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare("SELECT variant, media_type, digest, size, diff_id, uncompressed_size, source"
                   " FROM ref_blobs WHERE ref_id=? ORDER BY variant"));
  st.Bind(1, id);
  std::vector<BlobRecord> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    BlobRecord b;
    b.variant = st.Text(0);
    b.media_type = st.Text(1);
    b.digest = st.Text(2);
    b.size = st.Int(3);
    b.diff_id = st.Text(4);
    b.uncompressed_size = st.Int(5);
    b.source = st.Text(6);
    out.push_back(std::move(b));
  }
  return out;
}

Status Manager::SetBlob(const std::string& id, const BlobRecord& b) {
  if (b.variant.empty() || b.digest.empty() || b.diff_id.empty()) {
    return InvalidArgument("cache: blob record for ref " + id + " lacks a variant or digest");
  }
  auto l = db_->Lock();
  KILN_ASSIGN_OR_RETURN(Stmt exists, db_->Prepare("SELECT 1 FROM refs WHERE id=?"));
  exists.Bind(1, id);
  KILN_ASSIGN_OR_RETURN(bool found, exists.Step());
  if (!found) return NotFound("cache: no committed ref " + id + " to record a blob for");
  KILN_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare("INSERT OR REPLACE INTO ref_blobs (ref_id, variant, media_type,"
                   " digest, size, diff_id, uncompressed_size, source) VALUES (?,?,?,?,?,?,?,?)"));
  return st.Bind(1, id)
      .Bind(2, b.variant)
      .Bind(3, b.media_type)
      .Bind(4, b.digest)
      .Bind(5, b.size)
      .Bind(6, b.diff_id)
      .Bind(7, b.uncompressed_size)
      .Bind(8, b.source)
      .Run();
}

}  // namespace kiln::cache
