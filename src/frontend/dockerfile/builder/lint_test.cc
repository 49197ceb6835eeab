#include "frontend/dockerfile/builder/lint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kiln::dockerfile {
namespace {

using ::testing::ElementsAre;

// A bridge that only records warnings.
class WarnRecorder final : public frontend::FrontendLLBBridge {
 public:
  Result<frontend::SolveResult> Solve(const Context&, const pb::Definition&) override {
    return Unimplemented("");
  }
  Result<frontend::SolveResult> SolveFrontend(const Context&, const std::string&,
                                              const std::map<std::string, std::string>&,
                                              const frontend::Inputs&) override {
    return Unimplemented("");
  }
  Result<std::string> ReadFile(const Context&, const solver::OpResultPtr&, const std::string&,
                               int64_t, int64_t) override {
    return Unimplemented("");
  }
  Result<frontend::ResolvedImageConfig> ResolveImageConfig(
      const Context&, const std::string&, const frontend::ResolveImageConfigOptions&) override {
    return Unimplemented("");
  }
  std::string session_id() const override { return ""; }
  void Warn(solver::WarningEvent w) override { warnings.push_back(std::move(w)); }

  std::vector<solver::WarningEvent> warnings;
};

const char* kDockerfile = "FROM scratch\nCMD echo hi\nENV A 1\n";

TEST(BridgeWarnerTest, SendsWarningsAsBuildKitsFrontendDoes) {
  WarnRecorder bridge;
  lint::WarnFn warn = BridgeWarner(bridge, LintSource{"Dockerfile", kDockerfile, "sha256:abc"});
  warn(lint::Warning{&lint::kJSONArgsRecommended, lint::msg::JSONArgsRecommended("CMD"), {{2, 2}}});
  ASSERT_EQ(bridge.warnings.size(), 1u);
  const solver::WarningEvent& w = bridge.warnings[0];
  EXPECT_EQ(w.vertex, "sha256:abc");
  EXPECT_EQ(w.level, 1);
  EXPECT_EQ(w.short_msg,
            "JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended "
            "behavior related to OS signals (line 2)");
  EXPECT_THAT(w.detail, ElementsAre(std::string(lint::kJSONArgsRecommended.description)));
  EXPECT_EQ(w.url, "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
  ASSERT_TRUE(w.source.has_value());
  EXPECT_EQ(w.source->filename, "Dockerfile");
  EXPECT_EQ(w.source->data, kDockerfile);
  EXPECT_EQ(w.source->language, "Dockerfile");
  ASSERT_EQ(w.ranges.size(), 1u);
  EXPECT_EQ(w.ranges[0].start.line, 2);
  EXPECT_EQ(w.ranges[0].end.line, 2);
}

TEST(LintConfigFromOptionsTest, TheBuildArgReplacesTheDirective) {
  auto none = LintConfigFromOptions({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto c = LintConfigFromOptions({{"build-arg:BUILDKIT_DOCKERFILE_CHECK", "skip=all;error=true"}});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_TRUE((*c)->skip_all);
  EXPECT_TRUE((*c)->error);
  auto bad = LintConfigFromOptions({{"build-arg:BUILDKIT_DOCKERFILE_CHECK", "x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: invalid check option \"x\"");
}

TEST(LintResultsTest, ResultHoldsBuildKitsJsonTextAndStatusCode) {
  LintResults results(LintSource{"Dockerfile", kDockerfile, "sha256:abc"});
  lint::WarnFn warn = results.Warner();
  warn(lint::Warning{
      &lint::kLegacyKeyValueFormat, lint::msg::LegacyKeyValueFormat("ENV"), {{3, 3}}});
  warn(lint::Warning{&lint::kJSONArgsRecommended, lint::msg::JSONArgsRecommended("CMD"), {{2, 2}}});
  frontend::SolveResult res = results.ToResult();
  EXPECT_EQ(res.metadata["result.statuscode"], "1");
  EXPECT_EQ(res.metadata["version"], "1.0.0");
  auto j = nlohmann::json::parse(res.metadata["result.json"]);
  ASSERT_EQ(j["warnings"].size(), 2u);
  EXPECT_EQ(j["warnings"][0]["ruleName"], "LegacyKeyValueFormat");
  EXPECT_EQ(j["warnings"][0]["detail"],
            "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format");
  EXPECT_EQ(j["warnings"][0]["location"]["ranges"][0]["start"]["line"], 3);
  EXPECT_FALSE(j["warnings"][0]["location"].contains("sourceIndex"));  // 0, left out as Go does
  EXPECT_EQ(j["sources"][0]["filename"], "Dockerfile");
  EXPECT_EQ(j["sources"][0]["language"], "Dockerfile");
  EXPECT_FALSE(j.contains("buildError"));
  // Text: by line, each with its URL, message and lines.
  EXPECT_EQ(res.metadata["result.txt"],
            "\nWARNING: JSONArgsRecommended - "
            "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n"
            "JSON arguments recommended for CMD to prevent unintended behavior related to OS "
            "signals\n"
            "Dockerfile:2\n"
            "--------------------\n"
            "   1 |     FROM scratch\n"
            "   2 | >>> CMD echo hi\n"
            "   3 |     ENV A 1\n"
            "   4 |     \n"  // the empty line after the last newline, as BuildKit prints it
            "--------------------\n"
            "\nWARNING: LegacyKeyValueFormat - "
            "https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/\n"
            "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format\n"
            "Dockerfile:3\n"
            "--------------------\n"
            "   1 |     FROM scratch\n"
            "   2 |     CMD echo hi\n"
            "   3 | >>> ENV A 1\n"
            "   4 |     \n"
            "--------------------\n");
}

TEST(LintResultsTest, NoWarningsIsStatusZeroAndABuildErrorIsKept) {
  LintResults clean(LintSource{"Dockerfile", kDockerfile, ""});
  frontend::SolveResult res = clean.ToResult();
  EXPECT_EQ(res.metadata["result.statuscode"], "0");
  EXPECT_EQ(res.metadata["result.txt"], "");
  EXPECT_TRUE(nlohmann::json::parse(res.metadata["result.json"])["warnings"].is_null());

  LintResults failed(LintSource{"Dockerfile", kDockerfile, ""});
  failed.SetError(InvalidArgument("Dockerfile:2: unknown instruction: CMDD"), {2, 2});
  res = failed.ToResult();
  EXPECT_EQ(res.metadata["result.statuscode"], "1");
  auto j = nlohmann::json::parse(res.metadata["result.json"]);
  EXPECT_EQ(j["buildError"]["message"], "Dockerfile:2: unknown instruction: CMDD");
  EXPECT_EQ(j["buildError"]["location"]["ranges"][0]["end"]["line"], 2);
}

}  // namespace
}  // namespace kiln::dockerfile
