// The Go-compatible building blocks: UTF-8 decoding, character classes, JSON, shell patterns.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "frontend/dockerfile/parser/json.h"
#include "frontend/dockerfile/shell/pattern.h"
#include "frontend/dockerfile/unicode.h"

namespace kiln::dockerfile::internal {
namespace {

using testing::ElementsAre;
using testing::Optional;

TEST(Utf8Test, DecodesAsGoDoes) {
  EXPECT_EQ(DecodeRune("a", 0).rune, U'a');
  EXPECT_EQ(DecodeRune("\xC3\xA9", 0).rune, U'é');
  EXPECT_EQ(DecodeRune("\xC3\xA9", 0).width, 2u);
  EXPECT_EQ(DecodeRune("\xF0\x9F\x98\x80", 0).rune, U'😀');
  // Overlong, surrogate, truncated and out-of-range sequences are one U+FFFD byte each.
  for (std::string_view bad :
       {"\xC0\x80", "\xED\xA0\x80", "\xE2\x82", "\xF4\x90\x80\x80", "\xFF", "\x80"}) {
    DecodedRune d = DecodeRune(bad, 0);
    EXPECT_EQ(d.rune, kRuneError) << testing::PrintToString(bad);
    EXPECT_EQ(d.width, 1u) << testing::PrintToString(bad);
  }
  EXPECT_EQ(DecodeRune("", 0).width, 0u);
  EXPECT_EQ(SanitizeUtf8("a\xFFz"), "a\xEF\xBF\xBDz");
}

TEST(Utf8Test, CharacterClasses) {
  EXPECT_TRUE(IsSpace(U'\v'));
  EXPECT_TRUE(IsSpace(0x85));
  EXPECT_TRUE(IsSpace(0xA0));
  EXPECT_TRUE(IsSpace(0x3000));
  EXPECT_FALSE(IsSpace(0x200B));
  EXPECT_TRUE(IsLetter(U'é'));
  EXPECT_TRUE(IsLetter(U'한'));
  EXPECT_FALSE(IsLetter(U'×'));
  EXPECT_FALSE(IsLetter(U'€'));
  EXPECT_TRUE(IsDigit(0x0663));  // ARABIC-INDIC DIGIT THREE
  EXPECT_FALSE(IsDigit(U'²'));
  EXPECT_EQ(TrimSpace("\xC2\xA0 a b\t\xE3\x80\x80"), "a b");
}

TEST(QuoteTest, EscapesLikeGo) {
  EXPECT_EQ(QuoteForMessage("a\"b\\c\n\x01\x7f"), "\"a\\\"b\\\\c\\n\\x01\\x7f\"");
  EXPECT_EQ(QuoteForMessage("é\xC2\xA0\xFF"), "\"é\\u00a0\\xff\"");
}

TEST(JsonTest, TopLevelArray) {
  auto j = ParseJsonTopLevel(" [\"a\", 1, \"\\u00e9\\n\", null, [\"x\"], {\"k\": \"v\"}, \"\"] ");
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(j->kind, JsonTopLevel::Kind::kArray);
  EXPECT_THAT(j->items,
              ElementsAre(Optional(std::string("a")), std::nullopt, Optional(std::string("é\n")),
                          std::nullopt, std::nullopt, std::nullopt, Optional(std::string(""))));
}

TEST(JsonTest, Object) {
  auto j = ParseJsonTopLevel("{\"a\": \"b\", \"c\": {\"d\": \"e\"}, \"f\": -1.5e3}");
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(j->kind, JsonTopLevel::Kind::kObject);
  ASSERT_EQ(j->members.size(), 3u);
  EXPECT_EQ(j->members[0].first, "a");
  EXPECT_EQ(j->members[0].second, "b");
  EXPECT_EQ(j->members[1].first, "c");
  EXPECT_EQ(j->members[1].second, std::nullopt);
  EXPECT_EQ(j->members[2].first, "f");
}

TEST(JsonTest, StringsDecodeAsGo) {
  auto j = ParseJsonTopLevel(
      "[\"\\ud83d\\ude00\", \"\\ud800\", \"\\udc00x\", \"\\ud800\\u0041\", \"\xFF\", \"\\/\"]");
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_THAT(j->items,
              ElementsAre(Optional(std::string("😀")), Optional(std::string("\xEF\xBF\xBD")),
                          Optional(std::string("\xEF\xBF\xBDx")),
                          Optional(std::string("\xEF\xBF\xBD"
                                               "A")),
                          Optional(std::string("\xEF\xBF\xBD")), Optional(std::string("/"))));
}

TEST(JsonTest, RejectsWhatGoRejects) {
  for (std::string_view bad : {"", "[", "[1,]", "[\"a\" \"b\"]", "[01]", "[1.]", "[.5]", "[+1]",
                               "[1e]", "[\"\t\"]", "[\"\\x\"]", "[\"\\u12\"]", "[tru]", "[] x",
                               "{\"a\" 1}", "{1: 2}", "[\"a\"]]", "'a'", "[NaN]"}) {
    EXPECT_FALSE(ParseJsonTopLevel(bad).ok()) << bad;
  }
  for (std::string_view good : {"[]", "{}", "null", "-0", "1E+2", "\"s\"", " [ ] \r\n\t"}) {
    EXPECT_TRUE(ParseJsonTopLevel(good).ok()) << good;
  }
}

TEST(JsonTest, NestingLimitIsGos) {
  EXPECT_TRUE(ParseJsonTopLevel(std::string(10000, '[') + std::string(10000, ']')).ok());
  EXPECT_FALSE(ParseJsonTopLevel(std::string(10001, '[') + std::string(10001, ']')).ok());
}

TEST(PatternTest, ReversePatternKeepsEscapePairs) {
  EXPECT_EQ(ReversePattern("a\\*c"), "c\\*a");
  EXPECT_EQ(ReversePattern("\\\\\\ab"), "b\\a\\\\");
  EXPECT_EQ(ReversePattern("ab\\"), "\\ba");
  EXPECT_EQ(ReversePattern("👽\\🚀🖖"), "🖖\\🚀👽");
  EXPECT_EQ(ReverseRunes("🖖🚀👽"), "👽🚀🖖");
}

TEST(PatternTest, TrimAndReplace) {
  EXPECT_EQ(*TrimPrefix("*x*y", "xxyy", false), "y");
  EXPECT_EQ(*TrimPrefix("*", "xxyy", false), "xxyy");
  EXPECT_EQ(*TrimPrefix("?\\?", "???y", false), "?y");
  EXPECT_EQ(*TrimSuffix("\\**\\*", "a***yy*", true), "a");
  EXPECT_EQ(*TrimSuffix("\\**", "xx**", true), "xx");
  EXPECT_EQ(*TrimPrefix("()[]{\\}^$.\\*\\?|\\\\", "()[]{}^$.*?|\\x", false), "x");
  EXPECT_EQ(*Replace("\\*/", "/foo*/*/*.txt", ".", false), "/foo.*/*.txt");
  EXPECT_EQ(*Replace("\\*/", "/foo*/*/*.txt", ".", true), "/foo..*.txt");
  EXPECT_EQ(*Replace("", "xxyy", "ww", false), "wwxxyy");
  EXPECT_EQ(*Replace("", "ab", "-", true), "-a-b-");
  EXPECT_EQ(*Replace("x*", "axxb", "-", true), "a-");
  EXPECT_EQ(*Replace("x", "axxb", "-", true), "a--b");
  EXPECT_EQ(*Replace("x*", "axxb", "-", false), "a-");
  EXPECT_EQ(*Replace("/", "/tmp/foo.txt", "\\/", true), "\\/tmp\\/foo.txt");
  auto bad = TrimPrefix("\\x", "v", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid pattern (\\x) in substitution: invalid escape '\\x'");
  auto trailing = ShellPattern::Compile("\\", true);
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().message(), "invalid escape '\\\xEF\xBF\xBD'");
}

TEST(PatternTest, ManyStarsStayFast) {
  // Exponential for a naive backtracker; the failure memo keeps it quadratic.
  std::string pattern;
  for (int i = 0; i < 200; i++) pattern += "*a";
  pattern += "b";
  std::string value(3000, 'a');
  EXPECT_EQ(*TrimPrefix(pattern, value, true), value);
  EXPECT_EQ(*Replace(pattern, value, "x", true), value);
}

}  // namespace
}  // namespace kiln::dockerfile::internal
