// Fuzz harness for LLB Definition decoding: any bytes must give a Definition or a clean error,
// never a crash, a hang or a CHECK failure. Built for libFuzzer with clang (-DKILN_FUZZ=ON);
// with other compilers fuzz_smoke.cc drives the same entry point over mutated seeds in ctest.

#include <cstddef>
#include <cstdint>
#include <string>

#include "llb/definition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pb::Definition def;
  if (!def.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto loaded = kiln::llb::LoadDefinition(def);
  if (loaded.ok()) {
    for (const auto& [d, op] : loaded->ops) (void)kiln::llb::VertexName(op);
  }
  return 0;
}
