// Parse + convert of one Dockerfile to LLB, uncached, repeated: the frontend's own share of a
// build (no image resolution: the Dockerfile's stages must be FROM scratch or earlier stages).
// Usage: dockerfile_convert_bench DOCKERFILE [rounds]   Prints the median and the fastest, in
// milliseconds. Used by bench/dockerfile_cached.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/dockerfile/dockerfile2llb/convert.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DOCKERFILE [rounds]\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string dockerfile = ss.str();
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 50;
  kiln::dockerfile::ConvertOptions opts;
  opts.session_id = "bench";
  std::vector<double> ms;
  size_t ops = 0;
  for (int i = 0; i < rounds; i++) {
    auto start = std::chrono::steady_clock::now();
    auto r = kiln::dockerfile::Dockerfile2LLB(dockerfile, opts);
    auto end = std::chrono::steady_clock::now();
    if (!r.ok()) {
      std::fprintf(stderr, "convert: %s\n", r.status().message().c_str());
      return 1;
    }
    ops = static_cast<size_t>(r->definition.def_size());
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%.3f %.3f %zu\n", ms[ms.size() / 2], ms.front(), ops);
  return 0;
}
