#pragma once
// Decoding and validation of an LLB Definition (wire-protocol.md §2). A vertex's digest is the
// sha256 of its marshalled pb.Op bytes exactly as received. Anything malformed (garbage bytes,
// a cycle, an input or output index out of range, an unknown op or cap, an empty definition)
// is an InvalidArgument error that names the op.

#include <map>
#include <string>
#include <vector>

#include "pb/ops.pb.h"
#include "util/status.h"

namespace kiln::llb {

struct LoadedOp {
  std::string digest;
  pb::Op op;
  pb::OpMetadata meta;  // empty when the definition has none for this op
};

struct LoadedDefinition {
  std::map<std::string, LoadedOp> ops;  // by digest
  std::string root;                     // digest of the result vertex (empty: scratch result)
  int64_t root_index = 0;
  pb::Source source;                    // source maps, as sent
};

Result<LoadedDefinition> LoadDefinition(const pb::Definition& def);

// Number of outputs an op produces (exec: its output mounts; file: its output actions).
int NumOutputs(const pb::Op& op);

// The progress name of a vertex: llb.customname, else one derived from the op (§2.2).
std::string VertexName(const LoadedOp& op);

// The LLB caps this build of kiln implements (advertised through LLBBridge.Ping).
const std::vector<std::string>& SupportedCaps();

}  // namespace kiln::llb
