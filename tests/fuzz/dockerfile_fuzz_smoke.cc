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
  int runs = 0;
  for (const auto& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
    for (int i = 0; i < 1000; i++) {
      std::string s = seed;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !s.empty(); e++) {
        size_t pos = rng() % s.size();
        switch (rng() % 5) {
          case 0:
            s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
            break;
          case 1:
            s.resize(pos);
            break;
          case 2:
            s.insert(pos, kTokens[rng() % std::size(kTokens)]);
            break;
          case 3:
            s.erase(pos, 1 + rng() % 8);
            break;
          default:
            s.insert(pos, s.substr(rng() % s.size(), rng() % 16));
            break;
        }
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
      runs++;
    }
  }
  EXPECT_EQ(runs, 1000 * static_cast<int>(seeds.size()));
}

}  // namespace
