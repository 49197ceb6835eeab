#include "registry/platform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::registry {
namespace {

Platform P(std::string os, std::string arch, std::string variant = "") {
  Platform p;
  p.os = std::move(os);
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

TEST(PlatformTest, ParsesAndNormalisesSpecifiers) {
  const std::pair<std::string, std::string> cases[] = {
      {"linux/amd64", "linux/amd64"},
      {"linux/x86_64", "linux/amd64"},
      {"linux/x86-64", "linux/amd64"},
      {"linux/amd64/v1", "linux/amd64"},
      {"linux/amd64/v3", "linux/amd64/v3"},
      {"linux/arm64", "linux/arm64"},
      {"linux/aarch64", "linux/arm64"},
      {"linux/arm64/v8", "linux/arm64/v8"},
      {"linux/arm64/8", "linux/arm64/v8"},
      {"linux/arm", "linux/arm"},
      {"linux/arm/v7", "linux/arm/v7"},
      {"linux/arm/7", "linux/arm/v7"},
      {"linux/arm/v6", "linux/arm/v6"},
      {"linux/armhf", "linux/arm"},
      {"linux/armel", "linux/arm/v6"},
      {"linux/i386", "linux/386"},
      {"LINUX/AMD64", "linux/amd64"},
      {"macos/arm64", "darwin/arm64"},
      {"windows/amd64", "windows/amd64"},
      {"linux/riscv64", "linux/riscv64"},
      {"arm64", "linux/arm64"},
      {"s390x", "linux/s390x"},
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(in);
    auto p = ParsePlatform(in);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->String(), want);
  }
  auto os_only = ParsePlatform("linux");
  ASSERT_TRUE(os_only.ok());
  EXPECT_EQ(os_only->os, "linux");
  EXPECT_EQ(os_only->architecture, HostPlatform().architecture);
  auto win = ParsePlatform("windows(10.0.17763)/amd64");
  ASSERT_TRUE(win.ok());
  EXPECT_EQ(win->os_version, "10.0.17763");
}

TEST(PlatformTest, RejectsBadSpecifiers) {
  for (std::string in : {"", "linux/", "linux/amd64/v8/x", "linux/*", "notanos", "linux/a md64"}) {
    SCOPED_TRACE(in);
    auto p = ParsePlatform(in);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(p.status().message(), ::testing::HasSubstr("invalid platform \"" + in + "\""));
  }
}

TEST(PlatformTest, NormalizeMakesSpellingsEqual) {
  EXPECT_EQ(Normalize(P("linux", "aarch64", "v8")), Normalize(P("linux", "arm64")));
  EXPECT_EQ(Normalize(P("linux", "arm")), Normalize(P("linux", "arm", "v7")));
  EXPECT_EQ(Normalize(P("linux", "armhf")), Normalize(P("linux", "arm", "7")));
  EXPECT_EQ(Normalize(P("linux", "x86_64", "v1")), Normalize(P("linux", "amd64")));
  EXPECT_EQ(Normalize(P("", "amd64")).os, "linux");
}

TEST(PlatformTest, HostPlatformIsNormalised) {
  Platform h = HostPlatform();
  EXPECT_EQ(h.os, "linux");
  EXPECT_EQ(h, Normalize(h));
  EXPECT_FALSE(h.architecture.empty());
}

struct MatchCase {
  Platform want;
  Platform have;
  bool match;
};

TEST(PlatformTest, MatcherAcceptsWhatThePlatformCanRun) {
  const MatchCase cases[] = {
      {P("linux", "amd64"), P("linux", "amd64"), true},
      {P("linux", "amd64"), P("linux", "x86_64"), true},
      {P("linux", "amd64"), P("linux", "386"), false},
      {P("linux", "amd64"), P("linux", "arm64"), false},
      {P("linux", "amd64"), P("windows", "amd64"), false},
      {P("linux", "amd64"), P("linux", "amd64", "v2"), false},
      {P("linux", "amd64", "v3"), P("linux", "amd64", "v2"), true},
      {P("linux", "amd64", "v3"), P("linux", "amd64"), true},
      {P("linux", "amd64", "v2"), P("linux", "amd64", "v3"), false},
      {P("linux", "arm64"), P("linux", "arm64", "v8"), true},
      {P("linux", "arm64", "v8"), P("linux", "arm64"), true},
      {P("linux", "arm64"), P("linux", "aarch64"), true},
      {P("linux", "arm64"), P("linux", "arm", "v7"), true},
      {P("linux", "arm64"), P("linux", "arm", "v8"), true},
      {P("linux", "arm64", "v8.2"), P("linux", "arm64", "v8.1"), true},
      {P("linux", "arm64", "v8.1"), P("linux", "arm64", "v8.2"), false},
      {P("linux", "arm64", "v9"), P("linux", "arm64", "v8.5"), true},
      {P("linux", "arm", "v7"), P("linux", "arm", "v7"), true},
      {P("linux", "arm", "v7"), P("linux", "arm"), true},
      {P("linux", "arm", "v7"), P("linux", "arm", "v6"), true},
      {P("linux", "arm", "v7"), P("linux", "arm", "v5"), true},
      {P("linux", "arm", "v7"), P("linux", "arm", "v8"), false},
      {P("linux", "arm", "v6"), P("linux", "arm", "v7"), false},
      {P("linux", "arm", "v7"), P("linux", "arm64"), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want.String() + " accepts " + c.have.String());
    EXPECT_EQ(PlatformMatcher(c.want).Match(c.have), c.match);
  }
}

TEST(PlatformTest, MatcherPrefersTheExactPlatform) {
  PlatformMatcher m(P("linux", "arm", "v7"));
  EXPECT_LT(*m.Rank(P("linux", "arm", "v7")), *m.Rank(P("linux", "arm", "v6")));
  EXPECT_LT(*m.Rank(P("linux", "arm", "v6")), *m.Rank(P("linux", "arm", "v5")));
  PlatformMatcher arm64(P("linux", "arm64"));
  EXPECT_LT(*arm64.Rank(P("linux", "arm64")), *arm64.Rank(P("linux", "arm", "v7")));
}

TEST(PlatformTest, StrictMatcherAcceptsOnlyThePlatform) {
  auto m = PlatformMatcher::Strict(P("linux", "arm", "v7"));
  EXPECT_TRUE(m.Match(P("linux", "armhf")));
  EXPECT_FALSE(m.Match(P("linux", "arm", "v6")));
}

}  // namespace
}  // namespace kiln::registry

namespace kiln::registry {
namespace {

TEST(ExportPlatformsTest, RoundTripInBuildKitsShape) {
  std::vector<ExportPlatform> in = {{"linux/amd64", {"linux", "amd64", "", "", {}}},
                                    {"linux/arm/v7", {"linux", "arm", "v7", "", {}}}};
  std::string json = FormatExportPlatforms(in);
  EXPECT_EQ(
      json,
      R"({"platforms":[{"id":"linux/amd64","platform":{"architecture":"amd64","os":"linux"}},)"
      R"({"id":"linux/arm/v7","platform":{"architecture":"arm","os":"linux","variant":"v7"}}]})");
  auto out = ParseExportPlatforms(json);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[1].id, "linux/arm/v7");
  EXPECT_EQ((*out)[1].platform, in[1].platform);
}

TEST(ExportPlatformsTest, MalformedMetadataIsInvalidArgument) {
  for (const char* bad : {"", "[]", R"({"platforms":{}})", R"({"platforms":[{"id":"x"}]})",
                          R"({"platforms":[{"id":"x","platform":{"os":"linux"}}]})"}) {
    auto out = ParseExportPlatforms(bad);
    EXPECT_EQ(out.status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace kiln::registry
