#pragma once
// The generic solver's view of a build graph: vertices with ops, edges between them, the cache
// map an op gives for its cache key, and the opaque results ops produce. Knows nothing of LLB,
// snapshots or containers (those live in llbsolver and the worker).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "solver/progress.h"
#include "util/context.h"
#include "util/digest.h"

namespace kiln::solver {

// A result of an op (BuildKit's solver.Result): in practice a worker ref. Shared by the jobs and
// the cache that hold it; released when the last holder drops it.
class OpResult {
 public:
  virtual ~OpResult() = default;
  // Stable id the cache key store records and ResultLoader loads back.
  virtual std::string ID() const = 0;
};
using OpResultPtr = std::shared_ptr<const OpResult>;

// Checksum of (part of) an input's result, for content-based cache keys.
using ContentDigestFn = std::function<Result<Digest>(const Context&, const OpResultPtr&)>;

struct CacheMapDep {
  // Mixed into the key with the input's key (e.g. a path the op reads).
  std::string selector;
  // When set, the key uses this checksum of the input's result instead of the input's own key.
  ContentDigestFn content_digest;
};

struct CacheMap {
  Digest digest;                 // the op's own part of the key
  std::vector<CacheMapDep> deps; // one per input, in order
};

// Job-specific things an op may need (sessions for local sources), plus its progress.
struct OpContext {
  std::string job_id;
  std::vector<std::string> session_ids;
  VertexProgress* progress = nullptr;
};

class Op {
 public:
  virtual ~Op() = default;
  // The cache map; may do work (a local source syncs here and keys on what it received).
  virtual Result<CacheMap> GetCacheMap(const Context& ctx, OpContext& oc) = 0;
  // Runs the op on its inputs' results, one result per output.
  virtual Result<std::vector<OpResultPtr>> Exec(const Context& ctx, OpContext& oc,
                                                const std::vector<OpResultPtr>& inputs) = 0;
  // Whether GetCacheMap does visible work (then the vertex shows as started before it).
  virtual bool CacheMapDoesWork() const { return false; }
};

struct Vertex;

struct Edge {
  std::shared_ptr<Vertex> vertex;
  int index = 0;  // output index
};

struct Vertex {
  std::string digest;  // identity: vertices with one digest are computed once across jobs
  std::string name;    // progress name
  std::vector<Edge> inputs;
  int num_outputs = 1;
  bool ignore_cache = false;
  std::shared_ptr<Op> op;
};

// Loads a result recorded in the cache key store back (e.g. a ref by id).
class ResultLoader {
 public:
  virtual ~ResultLoader() = default;
  virtual Result<OpResultPtr> Load(const Context& ctx, const std::string& id) = 0;
};

}  // namespace kiln::solver
