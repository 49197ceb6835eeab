// Golden dumps: every tests/testdata/dockerfile/NAME.Dockerfile is parsed and its Dump (or its
// error, with the line range) compared with NAME.golden. The goldens were checked against
// BuildKit's own parser. KILN_UPDATE_GOLDEN=1 rewrites them.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/dockerfile/parser/dump.h"
#include "frontend/dockerfile/parser/parser.h"

namespace kiln::dockerfile {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(KILN_DOCKERFILE_TESTDATA, ec)) {
    if (e.path().extension() == ".Dockerfile") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Render(const std::string& dockerfile) {
  SourceRange range;
  auto parsed = Parse(dockerfile, &range);
  if (!parsed.ok()) {
    return "error L" + std::to_string(range.start) + "-" + std::to_string(range.end) + ": " +
           parsed.status().message() + "\n";
  }
  return Dump(*parsed);
}

class GoldenTest : public testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, DumpMatchesGolden) {
  fs::path dir = KILN_DOCKERFILE_TESTDATA;
  std::string got = Render(ReadAll(dir / (GetParam() + ".Dockerfile")));
  fs::path golden = dir / (GetParam() + ".golden");
  const char* update = std::getenv("KILN_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << got;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing (KILN_UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(got, ReadAll(golden));
}

INSTANTIATE_TEST_SUITE_P(Dockerfiles, GoldenTest, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(GoldenFiles, AreAllThere) {
  // Guards against a wrong testdata path silently running no golden case.
  EXPECT_GE(Cases().size(), 20u);
}

}  // namespace
}  // namespace kiln::dockerfile
