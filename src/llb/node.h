#pragma once
// The builder's graph node (internal to llb): one op, its input states and its metadata.

#include <utility>
#include <vector>

#include "llb/builder.h"
#include "pb/ops.pb.h"

namespace kiln::llb {

struct Node {
  pb::Op op;  // without inputs; filled at marshal time
  std::vector<State> inputs;
  pb::OpMetadata meta;
  // Lines of the source file (Marshal's SourceFile) this op comes from, 1-based, inclusive.
  std::vector<std::pair<int, int>> location;
};

// The index of `s` among n's inputs, added if new; -1 for scratch.
int64_t AddInput(Node& n, const State& s);

}  // namespace kiln::llb
