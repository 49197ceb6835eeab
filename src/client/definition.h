#pragma once
// Helpers over an LLB pb.Definition as kilnctl reads it from stdin: op digests over the bytes
// as received, --no-cache, the local:// names it uses, and `debug dump-llb` output (one JSON
// object per op, or Graphviz dot). Stateless.

#include <set>
#include <string>
#include <string_view>

#include "pb/ops.pb.h"
#include "util/status.h"

namespace kiln::client {

// Parses a marshalled Definition ("failed to parse input" on garbage).
Result<pb::Definition> ParseDefinition(std::string_view bytes);

// "sha256:<hex>" of one marshalled op, exactly as received.
std::string OpDigest(std::string_view op_bytes);

// Sets ignore_cache in every op's metadata (buildctl build --no-cache with LLB on stdin).
void SetIgnoreCache(pb::Definition* def);

// Names of the local:// sources the definition uses.
Result<std::set<std::string>> LocalNames(const pb::Definition& def);

// One line per op: {"Op":{...},"Digest":"sha256:...","OpMetadata":{...}|null}.
Result<std::string> DumpLlbJson(const pb::Definition& def);
// digraph { "dgst" [label="..." shape="..."]; "in" -> "dgst" [label="/mnt"]; }
Result<std::string> DumpLlbDot(const pb::Definition& def);

}  // namespace kiln::client
