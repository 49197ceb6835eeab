#pragma once
// The cache key store: a graph of cache keys. A key records the op's cache-map digest, for each
// input the key (or content checksum) it was computed from with its selector, and the results
// that satisfy it. Remote cache export walks this graph later. Thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace kiln::solver {

struct KeyInput {
  int index = 0;          // input index of the op
  std::string selector;
  std::string input_key;  // the input's cache key, or "content:<digest>"
};

struct KeyRecord {
  std::string key;  // digest string of the full key (per output)
  std::string cachemap_digest;
  int output = 0;
  std::vector<KeyInput> inputs;
};

class CacheKeyStore {
 public:
  virtual ~CacheKeyStore() = default;
  // Result ids recorded for `key`, most recent first.
  virtual Result<std::vector<std::string>> Lookup(const std::string& key) = 0;
  // Records the key (idempotent) and that `result_id` satisfies it.
  virtual Status Add(const KeyRecord& rec, const std::string& result_id) = 0;
  // Forgets every key link to `result_id` (it was pruned).
  virtual Status RemoveResult(const std::string& result_id) = 0;
  // Drops links to results for which `alive(id)` is false; returns how many.
  virtual Result<int> Sweep(const std::function<bool(const std::string&)>& alive) = 0;
};

// SQLite-backed store at `path` (WAL mode), surviving restarts.
Result<std::unique_ptr<CacheKeyStore>> OpenSqliteKeyStore(const std::string& path);
// In-memory store for tests.
std::unique_ptr<CacheKeyStore> NewMemoryKeyStore();

}  // namespace kiln::solver
