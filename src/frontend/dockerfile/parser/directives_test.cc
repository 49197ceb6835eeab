#include "frontend/dockerfile/parser/directives.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::dockerfile {
namespace {

struct LineCase {
  const char* line;
  const char* name;  // nullptr: not a directive
  const char* value;
};

class DirectiveLineTest : public testing::TestWithParam<LineCase> {};

TEST_P(DirectiveLineTest, ParsesOneLine) {
  DirectiveParser p;
  auto d = p.ParseLine(GetParam().line);
  ASSERT_TRUE(d.ok()) << d.status().message();
  if (GetParam().name == nullptr) {
    EXPECT_FALSE(d->has_value());
    EXPECT_TRUE(p.done());
    return;
  }
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->name, GetParam().name);
  EXPECT_EQ((*d)->value, GetParam().value);
  EXPECT_EQ((*d)->line, 1);
  EXPECT_FALSE(p.done());
}

const LineCase kLines[] = {
    {"# syntax=docker/dockerfile:1", "syntax", "docker/dockerfile:1"},
    {"#syntax=x", "syntax", "x"},
    {"#   SYNTAX   =   a b  ", "syntax", "a b"},
    {"# Escape=`", "escape", "`"},
    {"# check=skip=all;error=true", "check", "skip=all;error=true"},
    {"# escape =   ", "escape", " "},  // BuildKit's regexp keeps the last blank
    {"# escape=\\\t", "escape", "\\"},
    {"# escape=\v", "escape", "\v"},  // \s does not include \v
    {"# key=value", nullptr, nullptr},
    {"# syntax", nullptr, nullptr},
    {"# syntax=", nullptr, nullptr},
    {"# 1syntax=x", nullptr, nullptr},
    {"# syn-tax=x", nullptr, nullptr},
    {"#", nullptr, nullptr},
    {"", nullptr, nullptr},
    {"FROM a", nullptr, nullptr},
    {" # syntax=x", nullptr, nullptr},  // the caller strips leading blanks
    {"// syntax=x", nullptr, nullptr},
};

INSTANTIATE_TEST_SUITE_P(Directives, DirectiveLineTest, testing::ValuesIn(kLines));

TEST(DirectiveParserTest, StopsAtFirstNonDirective) {
  DirectiveParser p;
  ASSERT_TRUE(p.ParseLine("# syntax=a").ok());
  auto blank = p.ParseLine("");
  ASSERT_TRUE(blank.ok());
  EXPECT_FALSE(blank->has_value());
  auto later = p.ParseLine("# escape=`");
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->has_value());
}

TEST(DirectiveParserTest, RepeatedKeyIsAnErrorWhateverItsCase) {
  DirectiveParser p;
  ASSERT_TRUE(p.ParseLine("# check=a").ok());
  auto again = p.ParseLine("# CHECK=b");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), "only one check parser directive can be used");
}

TEST(DirectiveParserTest, LinesCountFromTheOffset) {
  DirectiveParser p("//", 1);
  auto d = p.ParseLine("//syntax=x");
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->line, 2);
}

TEST(EscapeTokenTest, OnlyBackslashAndBacktick) {
  EXPECT_EQ(*EscapeTokenFromDirective("\\"), '\\');
  EXPECT_EQ(*EscapeTokenFromDirective("`"), '`');
  auto bad = EscapeTokenFromDirective("``");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid escape token '``' does not match ` or \\");
}

struct DetectCase {
  const char* name;
  std::string dockerfile;
  bool found;
  const char* value;
  const char* cmdline;
  int line;
};

class DetectSyntaxTest : public testing::TestWithParam<DetectCase> {};

TEST_P(DetectSyntaxTest, FindsTheFrontend) {
  const DetectCase& c = GetParam();
  auto d = DetectSyntax(c.dockerfile);
  ASSERT_EQ(d.has_value(), c.found);
  if (!c.found) return;
  EXPECT_EQ(d->value, c.value);
  EXPECT_EQ(d->cmdline, c.cmdline);
  EXPECT_EQ(d->line, c.line);
}

const DetectCase kDetect[] = {
    {"Hash", "# syntax = my/frontend:1 // opts\nFROM a\n", true, "my/frontend:1",
     "my/frontend:1 // opts", 1},
    {"AfterShebang", "#!/usr/bin/env buildctl\n# syntax=x\nFROM a\n", true, "x", "x", 2},
    {"AfterBom", "\xEF\xBB\xBF# syntax=x\nFROM a\n", true, "x", "x", 1},
    {"CrlfLines", "# escape=`\r\n# syntax=x\r\nFROM a\r\n", true, "x", "x", 2},
    {"SlashComments", "//syntax=y\n//key=value\n", true, "y", "y", 1},
    {"Json", "{\"syntax\": \"z\", \"other\": [1, {\"a\": null}]}", true, "z", "z", 0},
    {"JsonLastDuplicateWins", "{\"syntax\": \"a\", \"syntax\": \"b\"}", true, "b", "b", 0},
    {"JsonNonString", "{\"syntax\": 1}", false, "", "", 0},
    {"BlankLineEndsDirectives", "#!/bin/sh\n\n# syntax=x\n", false, "", "", 0},
    {"AfterInstruction", "FROM a\n# syntax=x\n", false, "", "", 0},
    {"InvalidJson", "{\"syntax\": \"x\"", false, "", "", 0},
    {"JsonThenComment", "{\"syntax\": \"x\"}\n# syntax=y", false, "", "", 0},
    {"RepeatedKeepsTheFirst", "# syntax=a\n# syntax=b\n", true, "a", "a", 1},
};

INSTANTIATE_TEST_SUITE_P(Detect, DetectSyntaxTest, testing::ValuesIn(kDetect),
                         [](const testing::TestParamInfo<DetectCase>& i) { return i.param.name; });

TEST(FindDirectiveTest, CheckDirective) {
  auto d = FindDirective("check", "#!/bin/sh\n#check = skip=all // opts\nFROM a\n");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->value, "skip=all");
  EXPECT_EQ(d->cmdline, "skip=all // opts");
  EXPECT_EQ(d->line, 2);
}

TEST(FindDirectiveTest, OnlyHashComments) {
  EXPECT_FALSE(FindDirective("check", "//check=skip=all\n").has_value());
  EXPECT_FALSE(FindDirective("check", "{\"check\": \"x\"}").has_value());
  EXPECT_FALSE(FindDirective("syntax", "# check=x\n").has_value());
}

}  // namespace
}  // namespace kiln::dockerfile
