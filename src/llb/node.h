#pragma once
// The builder's graph node (internal to llb): one op, its input states and its metadata.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "llb/builder.h"
#include "pb/ops.pb.h"

namespace kiln::llb {

// The ops of a definition made elsewhere (State::FromDefinition), emitted as received.
struct EmbeddedDefinition {
  std::vector<std::pair<std::string, std::string>> ops;  // (digest, bytes), without the terminal
  std::map<std::string, pb::OpMetadata> meta;            // by digest
  std::string root;                                      // digest of the result's op
};

struct Node {
  pb::Op op;  // without inputs; filled at marshal time (unused when `embedded` is set)
  // Set for a state of another definition: its ops are emitted as received, and `meta` (a
  // custom name, ignore-cache) is merged into its root op's metadata.
  std::shared_ptr<const EmbeddedDefinition> embedded;
  std::vector<State> inputs;
  pb::OpMetadata meta;
  // Lines of the source file (Marshal's SourceFile) this op comes from, 1-based, inclusive.
  std::vector<std::pair<int, int>> location;
};

// The index of `s` among n's inputs, added if new; -1 for scratch.
int64_t AddInput(Node& n, const State& s);

}  // namespace kiln::llb
