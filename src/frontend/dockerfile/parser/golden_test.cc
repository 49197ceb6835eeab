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

#include "frontend/dockerfile/golden_testing.h"
#include "frontend/dockerfile/parser/dump.h"
#include "frontend/dockerfile/parser/parser.h"

namespace kiln::dockerfile {
namespace {

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
  golden::ExpectMatchesGolden(KILN_DOCKERFILE_TESTDATA, GetParam(), Render);
}

INSTANTIATE_TEST_SUITE_P(Dockerfiles, GoldenTest,
                         testing::ValuesIn(golden::Cases(KILN_DOCKERFILE_TESTDATA)),
                         golden::ParamName);

TEST(GoldenFiles, AreAllThere) {
  // Guards against a wrong testdata path silently running no golden case.
  EXPECT_GE(golden::Cases(KILN_DOCKERFILE_TESTDATA).size(), 20u);
}

}  // namespace
}  // namespace kiln::dockerfile
