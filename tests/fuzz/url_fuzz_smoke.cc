// Runs the URL fuzz entry point over URL and git-ref seeds and many deterministic mutations of
// them (mutate.h, inserting URL punctuation). A regression run, not
// coverage-guided.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mutate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(UrlFuzzSmoke, MutatedUrlsNeverCrash) {
  const std::vector<std::string> seeds = {
      "https://user:pw@example.com:8443/a%20b/c.tar.gz?x=1&y=2#frag",
      "http://[::1]:80/x",
      "git://127.0.0.1:9418/repo.git#v1:sub/dir",
      "https://host/org/repo.git?branch=main&subdir=d&keep-git-dir",
      "git@github.com:org/repo.git?tag=v1#main:docs",
      "github.com/org/repo",
      "ssh://git@host:22/r.git"};
  const std::vector<std::string> punct = {":", "/", "?", "#", "@", "[",   "]",
                                          "%", "&", "=", "+", ".", "://", "%zz"};
  std::mt19937 rng(4321);
  int runs = 0;
  for (const auto& seed : seeds) {
    for (int i = 0; i < 5000; i++) {
      std::string s = kiln::fuzz::Mutate(seed, rng, punct);
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
      runs++;
    }
  }
  EXPECT_EQ(runs, 35000);
}

}  // namespace
