#include "frontend/dockerfile/parser/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/dockerfile/parser/dump.h"

namespace kiln::dockerfile {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;

// The instructions of a parse, one BuildKit s-expression per line, or "error L<s>-<e>: msg".
std::string Sexprs(std::string_view dockerfile) {
  SourceRange range;
  auto r = Parse(dockerfile, &range);
  if (!r.ok()) {
    return "error L" + std::to_string(range.start) + "-" + std::to_string(range.end) + ": " +
           r.status().message();
  }
  std::string out;
  for (const Node& n : r->children) {
    if (!out.empty()) out += "\n";
    out += DumpNode(n);
  }
  return out;
}

struct Case {
  const char* name;
  const char* dockerfile;
  const char* want;
};

class ParseTableTest : public testing::TestWithParam<Case> {};

TEST_P(ParseTableTest, GivesBuildKitsTree) {
  EXPECT_EQ(Sexprs(GetParam().dockerfile), GetParam().want) << GetParam().dockerfile;
}

const Case kCases[] = {
    {"InstructionsAreCaseInsensitive", "from a\nRuN x\nCOPY a b",
     "(from \"a\")\n(run \"x\")\n(copy \"a\" \"b\")"},
    {"TrailingBlanksAreTrimmed", "FROM a   \t\nRUN echo hi   ", "(from \"a\")\n(run \"echo hi\")"},
    {"LeadingBlanksAreTrimmed", "   FROM a\n\t RUN b", "(from \"a\")\n(run \"b\")"},
    {"RunShellFormKeepsInnerBlanks", "FROM a\nRUN  a   b", "(from \"a\")\n(run \"a   b\")"},
    {"RunExecForm", "FROM a\nRUN [\"a\", \"b c\"]", "(from \"a\")\n(run \"a\" \"b c\")"},
    {"RunInvalidJsonFallsBackToShellForm", "FROM a\nRUN [\"a\", b]",
     "(from \"a\")\n(run \"[\\\"a\\\", b]\")"},
    {"JsonUnicodeEscapes", "FROM a\nCMD [\"\\u0041\\u00e9\"]", "(from \"a\")\n(cmd \"Aé\")"},
    {"JsonNonStringIsAnError", "FROM a\nRUN [\"a\", true]",
     "error L2-2: dockerfile parse error on line 2: when using JSON array syntax, arrays must be "
     "comprised of strings only"},
    {"JsonNullElementIsAnError", "FROM a\nCOPY [null]",
     "error L2-2: dockerfile parse error on line 2: when using JSON array syntax, arrays must be "
     "comprised of strings only"},
    {"CopyWhitespaceList", "FROM a\nCOPY  a\tb   c", "(from \"a\")\n(copy \"a\" \"b\" \"c\")"},
    {"FromKeepsAsWords", "FROM img AS stage", "(from \"img\" \"AS\" \"stage\")"},
    {"EnvNewForm", "FROM a\nENV a=1 b=\"2 3\"",
     "(from \"a\")\n(env \"a\" \"1\" \"=\" \"b\" \"\\\"2 3\\\"\" \"=\")"},
    {"EnvLegacyForm", "FROM a\nENV a  1 2", "(from \"a\")\n(env \"a\" \"1 2\" \"\")"},
    {"EnvEscapedBlankStaysInValue", "FROM a\nENV a=x\\ y",
     "(from \"a\")\n(env \"a\" \"x\\\\ y\" \"=\")"},
    {"EnvOneWordIsAnError", "FROM a\nENV x",
     "error L2-2: dockerfile parse error on line 2: ENV must have two arguments"},
    {"EnvMixedFormsIsAnError", "FROM a\nENV a=b c",
     "error L2-2: dockerfile parse error on line 2: Syntax error - can't find = in \"c\". Must be "
     "of the form: name=value"},
    {"LabelOneWordIsAnError", "FROM a\nLABEL x",
     "error L2-2: dockerfile parse error on line 2: LABEL must have two arguments"},
    {"ArgWords", "ARG a b=1 \"c=d e\"\nFROM a",
     "(arg \"a\" \"b=1\" \"\\\"c=d e\\\"\")\n(from \"a\")"},
    {"EmptyArgumentsGiveNoNext", "FROM a\nUSER\nWORKDIR\nCMD\nEXPOSE",
     "(from \"a\")\n(user)\n(workdir)\n(cmd)\n(expose)"},
    {"FlagsBeforeArguments", "FROM a\nCOPY --from=b --chown=1:2 x y",
     "(from \"a\")\n(copy [\"--from=b\" \"--chown=1:2\"] \"x\" \"y\")"},
    {"DoubleDashEndsFlags", "FROM a\nCOPY --a=1 -- --b=2 y",
     "(from \"a\")\n(copy [\"--a=1\"] \"--b=2\" \"y\")"},
    {"SingleDashIsNotAFlag", "FROM a\nCOPY -a b", "(from \"a\")\n(copy \"-a\" \"b\")"},
    {"FlagQuotesAndEscapesAreRemoved", "FROM a\nCOPY --x=\"a b\" --y=c\\ d e f",
     "(from \"a\")\n(copy [\"--x=a b\" \"--y=c d\"] \"e\" \"f\")"},
    {"FlagNonAsciiIsReencodedAsBuildKitDoes", "FROM a\nCOPY --chown=é x y",
     "(from \"a\")\n(copy [\"--chown=Ã©\"] \"x\" \"y\")"},
    {"HealthcheckCmd", "FROM a\nHEALTHCHECK --retries=3 CMD [\"true\"]",
     "(from \"a\")\n(healthcheck [\"--retries=3\"] \"CMD\" \"true\")"},
    {"HealthcheckNone", "FROM a\nHEALTHCHECK NONE", "(from \"a\")\n(healthcheck \"NONE\")"},
    {"OnbuildNestsItsTrigger", "FROM a\nONBUILD RUN --mount=type=cache,target=/c make",
     "(from \"a\")\n(onbuild (run [\"--mount=type=cache,target=/c\"] \"make\"))"},
    {"OnbuildUnknownTriggerKeepsAnEmptyArgument", "FROM a\nONBUILD FOO bar",
     "(from \"a\")\n(onbuild (foo \"\"))"},
    {"ContinuationJoinsWithoutSeparator", "FROM a\nRUN a\\\nb", "(from \"a\")\n(run \"ab\")"},
    {"ContinuationSkipsComments", "FROM a\nRUN a \\\n# c\n  # d\n b",
     "(from \"a\")\n(run \"a  b\")"},
    {"EscapedEscapeIsNotAContinuation", "FROM a\nRUN a\\\\\nRUN b",
     "(from \"a\")\n(run \"a\\\\\\\\\")\n(run \"b\")"},
    {"ContinuationAtEndOfFile", "FROM a\nRUN a \\", "(from \"a\")\n(run \"a\")"},
    {"LoneEscapeLineContinues", "FROM a\n\\\nRUN b", "(from \"a\")\n(run \"b\")"},
    {"CrlfLineEndings", "FROM a\r\nRUN b \\\r\n c\r\n", "(from \"a\")\n(run \"b  c\")"},
    {"BomIsDropped",
     "\xEF\xBB\xBF"
     "FROM a",
     "(from \"a\")"},
    {"BomOnlyAtTheStart", "FROM a\n\xEF\xBB\xBFRUN b",
     "error L2-2: dockerfile parse error on line 2: unknown instruction: \xEF\xBB\xBFRUN (did you "
     "mean RUN?)"},
    {"UnknownInstructionWithSuggestion", "FROM a\n\nRUNN x",
     "error L3-3: dockerfile parse error on line 3: unknown instruction: RUNN (did you mean RUN?)"},
    {"SuggestionFollowsLowerCase", "FROM a\ncopyy a b",
     "error L2-2: dockerfile parse error on line 2: unknown instruction: copyy (did you mean "
     "copy?)"},
    {"SuggestionForMixedCaseIsLowerCase", "FROM a\nRuNn a",
     "error L2-2: dockerfile parse error on line 2: unknown instruction: RuNn (did you mean run?)"},
    {"NoSuggestionWhenNothingIsClose", "FROM a\nFROBNICATE x",
     "error L2-2: dockerfile parse error on line 2: unknown instruction: FROBNICATE"},
    {"UnknownInstructionSpansItsLines", "FROM a\nFOO a \\\n  b",
     "error L2-3: dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)"},
    {"SyntaxErrorsComeBeforeUnknownInstructions", "FROM a\nRUNN x\nENV y",
     "error L3-3: dockerfile parse error on line 3: ENV must have two arguments"},
    {"NoInstructions", "# just a comment\n\n",
     "error L2-2: dockerfile parse error on line 2: file with no instructions"},
    {"EmptyFile", "", "error L1-1: dockerfile parse error on line 1: file with no instructions"},
    {"UnterminatedHeredocNamesItsLines", "FROM a\nRUN <<EOF\nx\n",
     "error L2-3: dockerfile parse error on line 2: unterminated heredoc"},
    {"RepeatedDirective", "# syntax=a\n# SYNTAX=b\nFROM a",
     "error L2-2: dockerfile parse error on line 2: only one syntax parser directive can be used"},
    {"BadEscapeDirective", "# escape=x\nFROM a",
     "error L1-1: dockerfile parse error on line 1: invalid escape token 'x' does not match ` or "
     "\\"},
    {"BlankEscapeDirectiveKeepsOneBlank", "# escape=   \nFROM a",
     "error L1-1: dockerfile parse error on line 1: invalid escape token ' ' does not match ` or "
     "\\"},
    {"BacktickEscape", "# escape=`\nFROM a\nRUN a `\n b\\", "(from \"a\")\n(run \"a  b\\\\\")"},
    {"DirectiveAfterInstructionIsAComment", "FROM a\n# escape=`\nRUN a `\n",
     "(from \"a\")\n(run \"a `\")"},
    {"DirectiveAfterShebangIsAComment", "#!/bin/sh\n# escape=`\nFROM a\nRUN a\\\n b",
     "(from \"a\")\n(run \"a b\")"},
};

INSTANTIATE_TEST_SUITE_P(Parse, ParseTableTest, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ParseTest, NulBytesInsideLinesAreKept) {
  std::string df("FROM a\nRUN a\0b", 14);
  auto r = Parse(df);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->children.size(), 2u);
  EXPECT_EQ(r->children[1].next, std::vector<std::string>({std::string("a\0b", 3)}));
}

TEST(ParseTest, NodesCarryOriginalLinesAndJsonFlag) {
  auto r = Parse("FROM a\nrun  --network=none [\"a\", \\\n  \"b\"]\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Node& run = r->children[1];
  EXPECT_EQ(run.value, "run");
  EXPECT_EQ(run.original, "run  --network=none [\"a\",   \"b\"]");
  EXPECT_THAT(run.flags, ElementsAre("--network=none"));
  EXPECT_THAT(run.next, ElementsAre("a", "b"));
  EXPECT_TRUE(run.json);
  EXPECT_EQ(run.start_line, 2);
  EXPECT_EQ(run.end_line, 3);
  EXPECT_FALSE(r->children[0].json);
}

TEST(ParseTest, EmptyContinuationLineWarnsWithTheLastLine) {
  auto r = Parse("FROM a\nRUN a \\\n\n   \n  b\nRUN c\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->warnings.size(), 1u);
  const Warning& w = r->warnings[0];
  EXPECT_EQ(w.short_text, "Empty continuation line found in: RUN a   b");
  EXPECT_EQ(w.range.start, 5);
  EXPECT_EQ(w.range.end, 5);
  EXPECT_THAT(w.url, HasSubstr("no-empty-continuation"));
  EXPECT_THAT(w.detail, HasSubstr("future release"));
  EXPECT_EQ(r->children[1].end_line, 5);
}

TEST(ParseTest, NoWarningWithoutEmptyContinuation) {
  auto r = Parse("FROM a\nRUN a \\\n  b\n\nRUN c\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->warnings.empty());
}

TEST(ParseTest, DirectivesAreReportedAndRemovedFromComments) {
  auto r =
      Parse("# syntax = docker/dockerfile:1 \n#Check=skip=all\n# escape=`\n# about FROM\nFROM a\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->directives.size(), 3u);
  EXPECT_EQ(r->directives[0].name, "syntax");
  EXPECT_EQ(r->directives[0].value, "docker/dockerfile:1");
  EXPECT_EQ(r->directives[0].line, 1);
  EXPECT_EQ(r->directives[1].name, "check");
  EXPECT_EQ(r->directives[1].value, "skip=all");
  EXPECT_EQ(r->directives[2].line, 3);
  EXPECT_EQ(r->escape_token, '`');
  EXPECT_THAT(r->children[0].prev_comment, ElementsAre("about FROM"));
}

TEST(ParseTest, UnknownDirectiveKeyEndsDirectives) {
  auto r = Parse("# key=value\n# escape=`\nFROM a\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->directives.empty());
  EXPECT_EQ(r->escape_token, '\\');
}

TEST(ParseTest, HeredocFields) {
  auto r = Parse("FROM a\nCOPY 3<<-\"A\" <<B /x\n\tone\n\tA\ntwo\nB\nRUN ok\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Node& copy = r->children[1];
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0].name, "A");
  EXPECT_EQ(copy.heredocs[0].content, "\tone\n");
  EXPECT_FALSE(copy.heredocs[0].expand);
  EXPECT_TRUE(copy.heredocs[0].chomp);
  EXPECT_EQ(copy.heredocs[0].file_descriptor, 3u);
  EXPECT_EQ(copy.heredocs[1].name, "B");
  EXPECT_EQ(copy.heredocs[1].content, "two\n");
  EXPECT_TRUE(copy.heredocs[1].expand);
  EXPECT_FALSE(copy.heredocs[1].chomp);
  EXPECT_EQ(copy.start_line, 2);
  EXPECT_EQ(copy.end_line, 6);
  EXPECT_EQ(r->children[2].start_line, 7);
}

TEST(ParseTest, HeredocOnlyOnRunCopyAddInShellForm) {
  auto r = Parse("FROM a\nCMD cat <<EOF\nRUN [\"cat\", \"<<EOF\"]\nENTRYPOINT <<EOF\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const Node& n : r->children) EXPECT_TRUE(n.heredocs.empty()) << n.original;
}

TEST(ParseTest, HeredocContentIsNotParsed) {
  auto r = Parse("FROM a\nRUN <<EOF\n# not a comment\nRUNN not an instruction \\\nEOF\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->children.size(), 2u);
  EXPECT_EQ(r->children[1].heredocs[0].content, "# not a comment\nRUNN not an instruction \\\n");
}

TEST(ParseTest, ChompHeredocRemovesLeadingTabsOfEachLine) {
  EXPECT_EQ(ChompHeredoc("\t\ta\n\tb\t\n c\n\t"), "a\nb\t\n c\n");
  EXPECT_EQ(ChompHeredoc(""), "");
}

TEST(ParseTest, OverlongLineIsAnError) {
  std::string df = "FROM a\nRUN " + std::string(70000, 'x') + "\n";
  SourceRange range;
  auto r = Parse(df, &range);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "dockerfile parse error on line 2: dockerfile line greater than max allowed size of "
            "65535");
  EXPECT_EQ(range.start, 2);
}

TEST(ParseTest, LongestAllowedLineParses) {
  std::string df = "FROM a\nRUN " + std::string(65535 - 4, 'x') + "\n";
  EXPECT_TRUE(Parse(df).ok());
}

TEST(ParseTest, DeepOnbuildNestingIsAnErrorNotACrash) {
  std::string df = "FROM a\n";
  for (int i = 0; i < 5000; i++) df += "ONBUILD ";
  df += "RUN x\n";
  auto r = Parse(df);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "dockerfile parse error on line 2: ONBUILD nested too deeply");
}

TEST(ParseTest, DeeplyNestedJsonIsHandled) {
  // Go's decoder rejects nesting deeper than 10000 (then this is a shell-form RUN); shallower
  // nesting is valid JSON whose element is not a string.
  std::string deep = "FROM a\nRUN " + std::string(20000, '[') + "\n";
  auto r = Parse(deep);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->children[1].json);
  std::string nested = "FROM a\nRUN " + std::string(500, '[') + std::string(500, ']') + "\n";
  EXPECT_THAT(Parse(nested).status().message(), HasSubstr("arrays must be comprised of strings"));
}

TEST(ParseTest, ErrorsAreInvalidArgument) {
  auto r = Parse("FROM a\nENV x\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(ParseTest, KnownInstructionsAreBuildKits) { EXPECT_EQ(KnownInstructions().size(), 18u); }

}  // namespace
}  // namespace kiln::dockerfile
