#pragma once
// The local:// source: a directory of the client, pulled over the session's FileSync into a
// sync directory kept per (name, shared key) so a later build transfers only what changed, then
// made into an immutable ref keyed by its content checksum. Thread-safe; syncs of one sync
// directory are serialised.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cache/manager.h"
#include "pb/ops.pb.h"
#include "session/session.h"
#include "solver/progress.h"
#include "util/digest.h"

namespace kiln::source {

struct LocalIdentifier {
  std::string name;
  std::string session_id;  // empty: any session of the job
  std::vector<std::string> include_patterns;
  std::vector<std::string> exclude_patterns;
  std::vector<std::string> follow_paths;
  std::string shared_key_hint;
};

// Parses a local:// SourceOp; bad attrs are InvalidArgument errors naming the attr.
Result<LocalIdentifier> ParseLocal(const pb::SourceOp& op);

struct LocalResult {
  Digest content;           // checksum of what was received
  cache::ImmutableRef ref;  // the tree as a ref
  int64_t files_transferred = 0;
  int64_t bytes_transferred = 0;
};

class LocalSource {
 public:
  LocalSource(std::string root, session::Manager* sessions, cache::Manager* cache)
      : root_(std::move(root)), sessions_(sessions), cache_(cache) {}

  Result<LocalResult> Sync(const Context& ctx, const LocalIdentifier& id,
                           const std::vector<std::string>& job_sessions,
                           solver::VertexProgress* progress);

  // A sync directory's meta.json: what its last completed sync left there ("" when unknown).
  struct SyncMeta {
    std::string digest;
    std::string ref;
    std::optional<std::vector<std::string>> xattr_paths;
    bool operator==(const SyncMeta&) const = default;
  };

 private:
  struct SyncDir {
    std::mutex mu;
    bool loaded = false;
    std::string last_digest;  // content of the last sync, "" if unknown
    std::string last_ref;     // ref holding that content
    // ReceiveStats::xattr_paths of the last sync, when it completed: lets the next one skip
    // reading the xattrs of entries that have none (fsutil::ReceiveOptions::dest_xattr_paths).
    std::optional<std::vector<std::string>> xattr_paths;
    SyncMeta saved;  // what meta.json holds now
  };
  std::shared_ptr<SyncDir> DirFor(const std::string& key);
  Result<cache::ImmutableRef> RefOfTree(const Context& ctx, const std::string& dir,
                                        const std::string& name);

  std::string root_;
  session::Manager* sessions_;
  cache::Manager* cache_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<SyncDir>> dirs_;
};

}  // namespace kiln::source
