// Runs the Definition fuzz entry point over seeds from the builder and many deterministic
// mutations of them (bit flips, truncations, splices). A regression run, not coverage-guided.

#include <gtest/gtest.h>

#include <random>

#include "llb/builder.h"
#include "mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using kiln::llb::FileOpBuilder;
using kiln::llb::State;

std::vector<std::string> Seeds() {
  State ctx = State::Local("context");
  State a = FileOpBuilder(State()).Copy(ctx, "/a", "/x").Mkfile("/y", 0644, "y").Result();
  State b = State::Diff(a, FileOpBuilder(a).Rm("/y").Result());
  return {State::Merge({a, b}).Marshal()->SerializeAsString(), ctx.Marshal()->SerializeAsString()};
}

TEST(DefinitionFuzzSmoke, MutatedDefinitionsNeverCrash) {
  std::mt19937 rng(1234);
  int runs = 0;
  for (const auto& seed : Seeds()) {
    for (int i = 0; i < 20000; i++) {
      std::string s = kiln::fuzz::Mutate(seed, rng);
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
      runs++;
    }
  }
  EXPECT_EQ(runs, 40000);
}

}  // namespace
