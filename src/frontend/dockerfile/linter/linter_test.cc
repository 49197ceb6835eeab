#include "frontend/dockerfile/linter/linter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::dockerfile::lint {
namespace {

using ::testing::ElementsAre;

TEST(ParseLintOptionsTest, ReadsSkipExperimentalAndError) {
  auto c = ParseLintOptions(" skip = A, B ;experimental=all; error=true ");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_THAT(c->skip, ElementsAre("A", "B"));
  EXPECT_FALSE(c->skip_all);
  EXPECT_TRUE(c->experimental_all);
  EXPECT_TRUE(c->error);
  c = ParseLintOptions("skip=all");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->skip_all);
  EXPECT_FALSE(c->error);
  EXPECT_TRUE(ParseLintOptions("   ").ok());
}

TEST(ParseLintOptionsTest, MalformedOptionsAreErrorsAsInBuildKit) {
  auto c = ParseLintOptions("skip");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "invalid check option \"skip\"");
  c = ParseLintOptions("other=1");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "invalid check option \"other\"");
  c = ParseLintOptions("error=maybe");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              ::testing::StartsWith("failed to parse check option \"error=maybe\": "));
  // A fourth part stays in the third (strings.SplitN(s, ";", 3)).
  c = ParseLintOptions("skip=A;skip=B;error=true;x");
  ASSERT_FALSE(c.ok());
}

TEST(LinterTest, SkipsDeprecatedAndUnenabledExperimentalRules) {
  std::vector<std::string> got;
  Config cfg;
  cfg.skip = {"StageNameCasing"};
  Linter l(cfg, [&](const Warning& w) { got.push_back(std::string(w.rule->name)); });
  l.Run(kStageNameCasing, {{1, 1}}, "x");
  l.Run(kInvalidDefinitionDescription, {{1, 1}}, "x");
  Rule deprecated{"Old", "old", "", false, true};
  l.Run(deprecated, {{1, 1}}, "x");
  l.Run(kFromAsCasing, {{2, 2}}, "y");
  EXPECT_THAT(got, ElementsAre("FromAsCasing"));

  // skip=all does not turn off an experimental rule that is enabled.
  cfg = Config{};
  cfg.skip_all = true;
  cfg.experimental = {"InvalidDefinitionDescription"};
  got.clear();
  Linter e(cfg, [&](const Warning& w) { got.push_back(std::string(w.rule->name)); });
  e.Run(kFromAsCasing, {{2, 2}}, "y");
  e.Run(kInvalidDefinitionDescription, {{1, 1}}, "x");
  EXPECT_THAT(got, ElementsAre("InvalidDefinitionDescription"));
}

TEST(LinterTest, CommentDirectivesAddToTheConfigurationOfOneInstruction) {
  std::vector<std::string> got;
  Linter l(Config{}, [&](const Warning& w) { got.push_back(std::string(w.rule->name)); });
  Linter quiet = l.WithComments({"a comment", "check=skip=FromAsCasing"});
  quiet.Run(kFromAsCasing, {{1, 1}}, "x");
  l.WithComments({"check=nonsense"}).Run(kFromAsCasing, {{2, 2}}, "x");
  l.Run(kFromAsCasing, {{3, 3}}, "x");
  EXPECT_THAT(got, ElementsAre("FromAsCasing", "FromAsCasing"));
}

TEST(LinterTest, ErrorListsTheRulesThatReportedOnceEachWhenAsked) {
  Config cfg;
  cfg.error = true;
  Linter l(cfg, [](const Warning&) {});
  EXPECT_TRUE(l.Error().ok());
  l.WithComments({"check=skip=MaintainerDeprecated"}).Run(kUndefinedVar, {{1, 1}}, "x");
  l.Run(kFromAsCasing, {{2, 2}}, "x");
  l.Run(kUndefinedVar, {{3, 3}}, "x");
  EXPECT_EQ(l.Error().message(), "lint violation found for rules: UndefinedVar, FromAsCasing");
  cfg.error = false;
  Linter no_error(cfg, [](const Warning&) {});
  no_error.Run(kFromAsCasing, {{2, 2}}, "x");
  EXPECT_TRUE(no_error.Error().ok());
  // No warning function: nothing runs, nothing fails.
  Linter none;
  none.Run(kFromAsCasing, {{2, 2}}, "x");
  EXPECT_TRUE(none.Error().ok());
}

TEST(LinterTest, AnEmptyMessageIsTheRuleDescription) {
  std::string msg;
  Linter l(Config{}, [&](const Warning& w) { msg = w.message; });
  l.Run(kUndefinedVar, {}, "");
  EXPECT_EQ(msg, kUndefinedVar.description);
}

TEST(RulesTest, NamesAndUrlsAreBuildKits) {
  EXPECT_EQ(AllRules().size(), 22u);
  for (const Rule* r : AllRules()) {
    if (r == &kInvalidBaseImagePlatform) {
      EXPECT_TRUE(r->url.empty());
      continue;
    }
    EXPECT_EQ(r->url.substr(0, 43), "https://docs.docker.com/go/dockerfile/rule/") << r->name;
  }
  EXPECT_EQ(kJSONArgsRecommended.url,
            "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
  EXPECT_EQ(msg::UndefinedVar("FO", "FOO"),
            "Usage of undefined variable '$FO' (did you mean $FOO?)");
  EXPECT_EQ(msg::LegacyKeyValueFormat("ENV"),
            "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format");
  EXPECT_EQ(msg::SecretsUsedInArgOrEnv("ARG", "TOKEN"),
            "Do not use ARG or ENV instructions for sensitive data (ARG \"TOKEN\")");
  EXPECT_EQ(msg::FromAsCasing("FROM", "as"), "'as' and 'FROM' keywords' casing do not match");
}

}  // namespace
}  // namespace kiln::dockerfile::lint
