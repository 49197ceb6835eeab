#include "frontend/dockerfile/shell/lex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace kiln::dockerfile {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;

const std::vector<std::string> kEnv = {"PWD=/home",
                                       "SHELL=bash",
                                       "KOREAN=한국어",
                                       "NULL=",
                                       "SPACED=  a  b ",
                                       "PATH=/usr/bin:/bin",
                                       "FILE=archive.tar.gz",
                                       "URL=http://x.io/a/b",
                                       "REP=[$0]",
                                       "REP1=$1x",
                                       "REP2=$$",
                                       "REP3=${0}"};

// A case: the word, then the expected ProcessWord result, or "error: <message>".
struct WordCase {
  const char* word;
  const char* want;
};

std::string Expand(const ShellLex& lex, std::string_view word,
                   const std::vector<std::string>& env = kEnv) {
  auto r = lex.ProcessWord(word, env);
  if (!r.ok()) return "error: " + r.status().message();
  return *r;
}

class BackslashWordTest : public testing::TestWithParam<WordCase> {};

TEST_P(BackslashWordTest, Expands) {
  EXPECT_EQ(Expand(ShellLex('\\'), GetParam().word), GetParam().want) << GetParam().word;
}

const WordCase kBackslash[] = {
    // Plain text, quotes and escapes.
    {"hello", "hello"},
    {"he'll'o", "hello"},
    {"he\\'llo", "he'llo"},
    {"abc\\tdef", "abctdef"},
    {"\"abc\\tdef\"", "abc\\tdef"},
    {"\"abc\\\\tdef\"", "abc\\tdef"},
    {"'abc\\tdef'", "abc\\tdef"},
    {"hello\\", "hello"},
    {"hello\\\\", "hello\\"},
    {"\"hel'lo\"", "hel'lo"},
    {"'hello\\'", "hello\\"},
    {"\"''\"", "''"},
    {"'\"x\"'", "\"x\""},
    {"\"a\\\"b\"", "a\"b"},
    {"\"a\\$b\"", "a$b"},
    {"\"a\\xb\"", "a\\xb"},
    {"a\\ b", "a b"},
    {"  lead and trail  ", "  lead and trail  "},
    {"안'녕'하세요", "안녕하세요"},
    // $ on its own and before things that cannot start a name.
    {"$", "$"},
    {"a$", "a$"},
    {"$.", "$."},
    {"he$.x", "he$.x"},
    {"$/x", "$/x"},
    {"\"$\"", "$"},
    {"\\$PWD", "$PWD"},
    {"\\\\$PWD", "\\/home"},
    {"\"he\\$PWD\"", "he$PWD"},
    {"'$PWD'", "$PWD"},
    {"\\${}", "${}"},
    // Variables.
    {"$PWD", "/home"},
    {"he$PWD", "he/home"},
    {"${PWD}x", "/homex"},
    {"$pwd", ""},
    {"${UNSET}", ""},
    {"$KOREAN", "한국어"},
    {"\"$PWD\"", "/home"},
    {"\"he'$PWD'\"", "he'/home'"},
    {"$PWD_x", ""},
    {"$PWD-x", "/home-x"},
    // Positional and special parameters are never set.
    {"he$1x", "hex"},
    {"$999aaa", "aaa"},
    {"${001:-d}", "d"},
    {"$@@@", "@@"},
    {"${#}", ""},
    {"${?:-q}", "q"},
    {"$$", ""},
    {"$!x", "x"},
    {"$0", ""},
    {"$-", ""},
    {"$*", ""},
    // Default, alternative and required values.
    {"${UNSET:-def}", "def"},
    {"${NULL:-def}", "def"},
    {"${NULL-def}", ""},
    {"${UNSET-def}", "def"},
    {"${PWD:-def}", "/home"},
    {"${UNSET:-$PWD}", "/home"},
    {"${UNSET:-${NULL:-inner}}", "inner"},
    {"${UNSET:-a b}", "a b"},
    {"${UNSET:-\"q}\"}", "q}"},
    {"${UNSET:-'a}'}", "a}"},
    {"${UNSET:-\\}}", "}"},
    {"${UNSET:-\\$PWD:}", "$PWD:"},
    {"${PWD:+alt}", "alt"},
    {"${NULL:+alt}", ""},
    {"${NULL+alt}", "alt"},
    {"${UNSET+alt}", ""},
    {"${PWD:+${PWD}:}", "/home:"},
    {"${PWD?}", "/home"},
    {"${NULL?}", ""},
    {"${PWD:?}", "/home"},
    {"${aaa}}", "}"},
    {"${aaa:-bbb {foo}", "bbb {foo"},
    // Prefix and suffix removal.
    {"${FILE#*.}", "tar.gz"},
    {"${FILE##*.}", "gz"},
    {"${FILE%.*}", "archive.tar"},
    {"${FILE%%.*}", "archive"},
    {"${FILE#archive}", ".tar.gz"},
    {"${FILE#nomatch}", "archive.tar.gz"},
    {"${FILE#}", "archive.tar.gz"},
    {"${FILE%%}", "archive.tar.gz"},
    {"${FILE#a?c}", "hive.tar.gz"},
    {"${FILE#*}", "archive.tar.gz"},
    {"${FILE##*}", ""},
    {"${FILE%*}", "archive.tar.gz"},
    {"${FILE%%*}", ""},
    {"${URL#*//}", "x.io/a/b"},
    {"${URL%/*}", "http://x.io/a"},
    {"${URL##*/}", "b"},
    {"${PATH#*:}", "/bin"},
    {"${UNSET#x}", ""},
    {"${FILE#$UNSET}", "archive.tar.gz"},
    {"${FILE#[a]}", "archive.tar.gz"},  // no bracket classes: '[' is literal
    // Replacement.
    {"${URL/\\//_}", "http:_/x.io/a/b"},
    {"${URL//\\//_}", "http:__x.io_a_b"},
    {"${URL/x.io/y.org}", "http://y.org/a/b"},
    {"${FILE//a/A}", "Archive.tAr.gz"},
    {"${FILE/*./}", "gz"},
    {"${FILE//?/.}", ".............."},
    {"${FILE/nomatch/x}", "archive.tar.gz"},
    {"${FILE//a/$}", "$rchive.t$r.gz"},
    {"${FILE//a/[$0]}", "[]rchive.t[]r.gz"},  // $0 is a (never set) shell parameter here
    // A `$` that reaches the replacement: Go's ReplaceAll expands $0 to the match, other
    // references to nothing and $$ to $; the first-match form inserts the text as it is.
    {"${FILE//a/$REP}", "[a]rchive.t[a]r.gz"},
    {"${FILE/a/$REP}", "[$0]rchive.tar.gz"},
    {"${FILE//a/$REP1}", "rchive.tr.gz"},
    {"${FILE//a/$REP2}", "$rchive.t$r.gz"},
    {"${FILE//a/$REP3}", "archive.tar.gz"},
    {"${FILE//a/\\$0}", "\\archive.t\\ar.gz"},
    {"${FILE///}", "archive.tar.gz"},
    {"${UNSET///}", ""},
    {"${FILE//\\*/x}", "archive.tar.gz"},
    // Errors.
    {"he'llo",
     "error: failed to process \"he'llo\": unexpected end of statement while looking "
     "for matching single-quote"},
    {"\"hello",
     "error: failed to process \"\\\"hello\": unexpected end of statement while "
     "looking for matching double-quote"},
    {"\"hello\\\"",
     "error: failed to process \"\\\"hello\\\\\\\"\": unexpected end of statement "
     "while looking for matching double-quote"},
    {"${}", "error: failed to process \"${}\": syntax error: bad substitution"},
    {"${:-x}", "error: failed to process \"${:-x}\": syntax error: bad substitution"},
    {"${{a}", "error: failed to process \"${{a}\": syntax error: bad substitution"},
    {"${", "error: failed to process \"${\": syntax error: missing '}'"},
    {"${PWD",
     "error: failed to process \"${PWD\": unsupported modifier (\xEF\xBF\xBD) in "
     "substitution"},
    {"${a:-b", "error: failed to process \"${a:-b\": syntax error: missing '}'"},
    {"${a:-b ${c}", "error: failed to process \"${a:-b ${c}\": syntax error: missing '}'"},
    {"${.}", "error: failed to process \"${.}\": unsupported modifier (.) in substitution"},
    {"${PWD:=x}",
     "error: failed to process \"${PWD:=x}\": unsupported modifier (:=) in "
     "substitution"},
    {"${PWD=x}",
     "error: failed to process \"${PWD=x}\": unsupported modifier (=) in "
     "substitution"},
    {"${PWD:YYY}",
     "error: failed to process \"${PWD:YYY}\": unsupported modifier (:Y) in "
     "substitution"},
    {"${PWD:#x}",
     "error: failed to process \"${PWD:#x}\": unsupported modifier (:#) in "
     "substitution"},
    {"${PWD:%%x}",
     "error: failed to process \"${PWD:%%x}\": unsupported modifier (:%) in "
     "substitution"},
    {"${x?boom}", "error: failed to process \"${x?boom}\": x: boom"},
    {"${x?}", "error: failed to process \"${x?}\": x: is not allowed to be unset"},
    {"${NULL:?}", "error: failed to process \"${NULL:?}\": NULL: is not allowed to be empty"},
    {"${NULL:?need $PWD}", "error: failed to process \"${NULL:?need $PWD}\": NULL: need /home"},
    {"${x/a}", "error: failed to process \"${x/a}\": syntax error: missing '/' in ${}"},
    {"${x/a/b", "error: failed to process \"${x/a/b\": syntax error: missing '}'"},
    {"${FILE#\\x}",
     "error: failed to process \"${FILE#\\\\x}\": invalid pattern (\\x) in "
     "substitution: invalid escape '\\x'"},
    {"${FILE%ab\\}", "error: failed to process \"${FILE%ab\\\\}\": syntax error: missing '}'"},
    {"${FILE/\\q/x}",
     "error: failed to process \"${FILE/\\\\q/x}\": invalid pattern (\\q) in "
     "substitution: invalid escape '\\q'"},
};

INSTANTIATE_TEST_SUITE_P(Lex, BackslashWordTest, testing::ValuesIn(kBackslash));

class BacktickWordTest : public testing::TestWithParam<WordCase> {};

TEST_P(BacktickWordTest, Expands) {
  EXPECT_EQ(Expand(ShellLex('`'), GetParam().word), GetParam().want) << GetParam().word;
}

const WordCase kBacktick[] = {
    {"c:\\dir\\file", "c:\\dir\\file"},
    {"a`b", "ab"},
    {"a``b", "a`b"},
    {"`$PWD", "$PWD"},
    {"\"`$PWD\"", "$PWD"},
    {"\"a`\"b\"", "a\"b"},
    {"\"a\\\"b", "a\\b"},
    {"${UNSET:-`}}", "}"},
    {"end`", "end"},
};

INSTANTIATE_TEST_SUITE_P(Lex, BacktickWordTest, testing::ValuesIn(kBacktick));

TEST(ShellLexTest, PatternsNeverMatchNewlines) {
  std::vector<std::string> env = {"NL=a\nbc"};
  ShellLex lex;
  EXPECT_EQ(Expand(lex, "${NL##*}", env), "\nbc");
  EXPECT_EQ(Expand(lex, "${NL%%*}", env), "a\n");
  EXPECT_EQ(Expand(lex, "${NL//?/x}", env), "x\nxx");
  EXPECT_EQ(Expand(lex, "${NL/*/x}", env), "x\nbc");
  EXPECT_EQ(Expand(lex, "${NL%?b}", env), "a\nbc");
}

TEST(ShellLexTest, SuffixRemovalReadsInvalidUtf8AsReplacementCharacters) {
  // BuildKit reverses the value as runes, so invalid bytes come back as U+FFFD.
  std::vector<std::string> env = {"V=a\xff.b"};
  EXPECT_EQ(Expand(ShellLex(), "${V%.*}", env), "a\xEF\xBF\xBD");
  EXPECT_EQ(Expand(ShellLex(), "${V#a}", env), "\xff.b");
  EXPECT_EQ(Expand(ShellLex(), "${V#a?}", env), ".b");
}

TEST(ShellLexTest, InvalidUtf8InTheWordBecomesReplacementCharacters) {
  EXPECT_EQ(Expand(ShellLex(), "a\xffz"), "a\xEF\xBF\xBDz");
}

TEST(ShellLexTest, LeadingByteOrderMarkIsSkipped) {
  EXPECT_EQ(Expand(ShellLex(), "\xEF\xBB\xBFx\xEF\xBB\xBF"), "x\xEF\xBB\xBF");
}

TEST(ShellLexTest, EnvLastEntryWinsAndBareKeysAreSet) {
  ShellLex lex;
  EXPECT_EQ(Expand(lex, "$A", {"A=1", "A=2"}), "2");
  EXPECT_EQ(Expand(lex, "${A-unset}", {"A"}), "");
  EXPECT_EQ(Expand(lex, "$a", {"A=1"}), "");  // case-sensitive
  EXPECT_EQ(Expand(lex, "$A", {"A=x=y"}), "x=y");
}

struct WordsCase {
  const char* word;
  std::vector<std::string> want;
};

class ProcessWordsTest : public testing::TestWithParam<WordsCase> {};

TEST_P(ProcessWordsTest, SplitsFields) {
  std::vector<std::string> env = {"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   "};
  auto r = ShellLex().ProcessWords(GetParam().word, env);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, GetParam().want) << GetParam().word;
}

const WordsCase kWords[] = {
    {"hello", {"hello"}},
    {"hello${hi}bye", {"hellohibye"}},
    {"hello${space}bye", {"helloabc", "defbye"}},
    {"hello\"${space}\"bye", {"helloabc  defbye"}},
    {"hello \"${space}\"bye", {"hello", "abc  defbye"}},
    {"hello${leading}def", {"hello", "ab", "cdef"}},
    {"hello\"${leading}\" def", {"hello  ab c", "def"}},
    {"hello${trailing}d", {"helloab", "c", "d"}},
    {"hel\"lo${trailing}\"", {"helloab c   "}},
    {"hello\" there  \"", {"hello there  "}},
    {"hello there     ", {"hello", "there"}},
    {"hello\\ there", {"hello there"}},
    {"hello\\\" there", {"hello\"", "there"}},
    {"hello'$there'", {"hello$there"}},
    {"\"\" a ''", {"a"}},
    {"cat <<  EOF >x", {"cat", "<<  EOF", ">x"}},
    {"", {}},
    // BuildKit's quirk, kept: text before a ${name<op>...} in the same field is dropped.
    {"hello${x:-a}bye", {"abye"}},
    {"a b${x:-c d}e", {"a", "c", "de"}},
};

INSTANTIATE_TEST_SUITE_P(Lex, ProcessWordsTest, testing::ValuesIn(kWords));

TEST(ShellLexTest, ProcessWordsError) {
  auto r = ShellLex().ProcessWords("hello\" there", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

struct MatchCase {
  const char* word;
  std::vector<std::string> env;
  const char* want;
  std::set<std::string> matched;
  std::set<std::string> unmatched;
};

class MatchesTest : public testing::TestWithParam<MatchCase> {};

TEST_P(MatchesTest, ReportsVariablesUsed) {
  const MatchCase& c = GetParam();
  auto r = ShellLex().ProcessWordWithMatches(c.word, c.env);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->result, c.want);
  EXPECT_EQ(r->matched, c.matched);
  EXPECT_EQ(r->unmatched, c.unmatched);
}

const MatchCase kMatches[] = {
    {"x", {"DUMMY=d"}, "x", {}, {}},
    {"x ${UNUSED}", {"DUMMY=d"}, "x ", {}, {"UNUSED"}},
    {"${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO=xxx", "BAR="}, "xxx  ccc", {"FOO", "BAR"}, {"BAZ"}},
    {"${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
     {"FOO=xxx", "BAR="},
     "xxx bbb ccc",
     {"FOO", "BAR"},
     {"BAZ"}},
    {"${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO=xxx", "BAR="}, "aaa bbb ", {"FOO", "BAR"}, {"BAZ"}},
    {"${FOO#$BAR}", {"FOO=xxyy", "BAR=x"}, "xyy", {"FOO", "BAR"}, {}},
    {"${FOO/$N/$R}", {"FOO=/a/b", "N=/?/", "R=/"}, "/b", {"FOO", "N", "R"}, {}},
    {"${ABC:-.}${FOO%x}", {"FOO=xxyy"}, ".xxyy", {"FOO"}, {"ABC"}},
    {"v${TARGETVARIANT:+-${TARGETVARIANT}}", {"TARGETVARIANT=v7"}, "v-v7", {"TARGETVARIANT"}, {}},
    {"v${TARGETVARIANT:+-${TARGETVARIANT}}", {"TARGETVARIANT="}, "v", {"TARGETVARIANT"}, {}},
    {"'$QUOTED'", {}, "$QUOTED", {}, {}},
    {"$1 $@", {}, " ", {}, {"1", "@"}},
};

INSTANTIATE_TEST_SUITE_P(Lex, MatchesTest, testing::ValuesIn(kMatches));

TEST(ShellLexTest, ErrorMessageHasTheWordAndTheCause) {
  auto r = ShellLex().ProcessWordWithMatches("${x?boom}", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "failed to process \"${x?boom}\": x: boom");
}

TEST(ShellLexTest, RawQuotesAndEscapesKeepThem) {
  ShellLexOptions o;
  o.raw_quotes = true;
  o.raw_escapes = true;
  ShellLex lex('\\', o);
  EXPECT_EQ(Expand(lex, "'a'\"b\\\"\"c\\d"), "'a'\"b\\\"\"c\\d");
  EXPECT_EQ(Expand(lex, "\"\\q\""), "\"\\\\q\"");  // BuildKit writes the lone escape twice
}

TEST(ShellLexTest, SkipUnsetEnvLeavesReferencesAsWritten) {
  ShellLexOptions o;
  o.skip_unset_env = true;
  ShellLex lex('\\', o);
  EXPECT_EQ(Expand(lex, "$A ${B} ${C:-d} ${D/x/y} ${E//x/y} $SET", {"SET=1"}),
            "$A ${B} ${C:-d} ${D/x/y} ${E/x/y} 1");
}

TEST(ShellLexTest, SkipProcessQuotesTreatsQuotesAsText) {
  ShellLexOptions o;
  o.skip_process_quotes = true;
  ShellLex lex('\\', o);
  EXPECT_EQ(Expand(lex, "'$A' \"$A\"", {"A=x"}), "'x' \"x\"");
  auto words = lex.ProcessWords("'a b'", {});
  ASSERT_TRUE(words.ok());
  EXPECT_THAT(*words, ElementsAre("'a", "b'"));
}

std::string Nested(int levels) {
  std::string w;
  for (int i = 0; i < levels; i++) w += "${U:-";
  w += "x";
  for (int i = 0; i < levels; i++) w += "}";
  return w;
}

TEST(ShellLexTest, NestingIsLimitedNotACrash) {
  EXPECT_EQ(Expand(ShellLex(), Nested(99)), "x");
  EXPECT_EQ(Expand(ShellLex(), Nested(100)).substr(0, 7), "error: ");
  auto deep = ShellLex().ProcessWord(Nested(50000), {});
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.status().message(),
              testing::EndsWith("syntax error: more than 100 nested expansions"));
}

TEST(ShellLexTest, EmptyWord) {
  auto r = ShellLex().ProcessWordWithMatches("", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result, "");
  EXPECT_THAT(r->words, IsEmpty());
}

}  // namespace
}  // namespace kiln::dockerfile
