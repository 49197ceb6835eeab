#include "util/error_details.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(ErrorDetailsTest, SourceLinesPrintAsBuildctlPrintsThem) {
  SourceLocation src{
      "Dockerfile", "FROM scratch\nENV A=1\nCOPY --fro=x a b\nRUN x\nCMD y\nLABEL z=1\n", {{3, 3}}};
  // One failing line: four lines of context, as buildctl's errdefs.Source.Print.
  EXPECT_EQ(FormatSourceLocation(src),
            "Dockerfile:3\n"
            "--------------------\n"
            "   1 |     FROM scratch\n"
            "   2 |     ENV A=1\n"
            "   3 | >>> COPY --fro=x a b\n"
            "   4 |     RUN x\n"
            "   5 |     CMD y\n"
            "--------------------\n");
  src.ranges = {{1, 2}};
  EXPECT_EQ(FormatSourceLocation(src),
            "Dockerfile:1\n"
            "--------------------\n"
            "   1 | >>> FROM scratch\n"
            "   2 | >>> ENV A=1\n"
            "   3 |     COPY --fro=x a b\n"
            "--------------------\n");
  src.ranges = {{40, 40}};
  EXPECT_EQ(FormatSourceLocation(src), "");
  src.ranges = {};
  EXPECT_EQ(FormatSourceLocation(src), "");
}

TEST(ErrorDetailsTest, DetailsRoundTripInBuildkitsJsonForm) {
  ErrorDetails d;
  d.vertex = "sha256:abc";
  d.sources.push_back({"app.Dockerfile", "FROM scratch\n\xff\n", {{2, 3}}});
  auto enc = EncodeErrorDetails(d);
  ASSERT_EQ(enc.size(), 2u);
  EXPECT_EQ(enc[0].type_url, "github.com/moby/buildkit/errdefs.Source+json");
  // Go's encoding/json of the gogo message: bytes as base64, positions as {"line": N}.
  EXPECT_NE(enc[0].value.find("\"ranges\":[{\"end\":{\"line\":3},\"start\":{\"line\":2}}]"),
            std::string::npos)
      << enc[0].value;
  EXPECT_EQ(enc[1].type_url, "github.com/moby/buildkit/errdefs.Vertex+json");
  ErrorDetails back;
  for (const auto& t : enc) DecodeErrorDetail(t.type_url, t.value, &back);
  EXPECT_EQ(back.vertex, "sha256:abc");
  ASSERT_EQ(back.sources.size(), 1u);
  EXPECT_EQ(back.sources[0].filename, "app.Dockerfile");
  EXPECT_EQ(back.sources[0].data, "FROM scratch\n\xff\n");
  EXPECT_EQ(back.sources[0].ranges, (std::vector<std::pair<int, int>>{{2, 3}}));
  // Unknown types and malformed values are ignored.
  ErrorDetails none;
  DecodeErrorDetail("github.com/moby/buildkit/errdefs.Solve+json", "{}", &none);
  DecodeErrorDetail(std::string(kSourceDetailURL), "not json", &none);
  DecodeErrorDetail(std::string(kSourceDetailURL), R"({"info":{"data":"!!"}})", &none);
  EXPECT_TRUE(none.sources.empty());
  EXPECT_TRUE(none.vertex.empty());
}

}  // namespace
}  // namespace kiln
