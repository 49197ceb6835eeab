// Runs the Dockerfile fuzz entry point over the golden Dockerfiles and many deterministic
// mutations of them (bit flips, truncations, splices of Dockerfile tokens). A regression run in
// every ctest, not coverage-guided.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(KILN_DOCKERFILE_TESTDATA, ec)) {
    if (e.path().extension() != ".Dockerfile") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    seeds.push_back(ss.str());
  }
  std::sort(seeds.begin(), seeds.end());
  return seeds;
}

const char* const kTokens[] = {"\\\n",
                               "`\n",
                               "\n",
                               "\r\n",
                               "<<EOF\n",
                               "<<-\"X\"",
                               "\nEOF\n",
                               "${A:-",
                               "${B##*/}",
                               "${R//?/$R}",
                               "}",
                               "$",
                               "\"",
                               "'",
                               "[\"",
                               "\"]",
                               "--from=",
                               " -- ",
                               "# escape=`\n",
                               "ONBUILD ",
                               "\xEF\xBB\xBF",
                               "\xFF",
                               "HEALTHCHECK CMD ",
                               "ENV a=",
                               "\\",
                               "*",
                               "?"};

TEST(DockerfileFuzzSmoke, MutatedDockerfilesNeverCrash) {
  std::vector<std::string> seeds = Seeds();
  ASSERT_GE(seeds.size(), 20u);
  std::mt19937 rng(4321);
  const std::vector<std::string> tokens(std::begin(kTokens), std::end(kTokens));
  int runs = 0;
  for (const auto& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
    for (int i = 0; i < 1000; i++) {
      std::string s = kiln::fuzz::Mutate(seed, rng, tokens);
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
      runs++;
    }
  }
  EXPECT_EQ(runs, 1000 * static_cast<int>(seeds.size()));
}

}  // namespace
