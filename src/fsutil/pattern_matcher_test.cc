#include "fsutil/pattern_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kiln::fsutil {
namespace {

// MatchesOrParentMatches, and the walk-style MatchesUsingParentResults fed with the results of
// every parent directory in turn; the two must agree.
bool Matches(const std::vector<std::string>& patterns, const std::string& path) {
  Result<PatternMatcher> pm = PatternMatcher::Create(patterns);
  EXPECT_TRUE(pm.ok()) << pm.status().ToString();
  if (!pm.ok()) return false;
  bool direct = pm->MatchesOrParentMatches(path);
  PatternMatcher::MatchInfo info;
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    PatternMatcher::MatchInfo next;
    pm->MatchesUsingParentResults(path.substr(0, i), info, &next);
    info = next;
  }
  PatternMatcher::MatchInfo unused;
  bool walked = pm->MatchesUsingParentResults(path, info, &unused);
  EXPECT_EQ(direct, walked) << "path " << path;
  return direct;
}

struct Case {
  const char* pattern;
  const char* path;
  bool match;
};

// moby/patternmatcher's own table, which includes Go's filepath.Match cases.
const Case kCases[] = {
    {"**", "file", true},
    {"**", "dir/file", true},
    {"**/", "file", true},
    {"**/**", "dir/file", true},
    {"dir/**", "dir/file", true},
    {"dir/**", "dir/dir2/file", true},
    {"**/dir", "dir", true},
    {"**/dir", "dir/file", true},
    {"**/dir2/*", "dir/dir2/file", true},
    {"**/dir2/**", "dir/dir2/dir3/file", true},
    {"**file", "file", true},
    {"**file", "dir/file", true},
    {"**/file", "dir/file", true},
    {"**file", "dir/dir/file", true},
    {"**/file*", "dir/dir/file.txt", true},
    {"**/file*txt", "dir/dir/file.txt", true},
    {"**/file*.txt*", "dir/dir/file.txt", true},
    {"**/**/*.txt", "dir/dir/file.txt", true},
    {"**/**/*.txt2", "dir/dir/file.txt", false},
    {"**/*.txt", "file.txt", true},
    {"**/**/*.txt", "file.txt", true},
    {"a**/*.txt", "a/file.txt", true},
    {"a**/*.txt", "a/dir/file.txt", true},
    {"a**/*.txt", "a/dir/dir/file.txt", true},
    {"a/*.txt", "a/dir/file.txt", false},
    {"a/*.txt", "a/file.txt", true},
    {"a/*.txt**", "a/file.txt", true},
    {"a[b-d]e", "ae", false},
    {"a[b-d]e", "ace", true},
    {"a[b-d]e", "aae", false},
    {"a[^b-d]e", "aze", true},
    {".*", ".foo", true},
    {".*", "foo", false},
    {"abc.def", "abcdef", false},
    {"abc.def", "abc.def", true},
    {"abc?def", "abcZdef", true},
    {"abc?def", "abcdef", false},
    {"a\\\\", "a\\", true},
    {"a\\*b", "a*b", true},
    {"a\\*b", "ab", false},
    {"**/foo/bar", "foo/bar", true},
    {"**/foo/bar", "dir/dir2/foo/bar", true},
    {"abc/**", "abc", false},
    {"abc/**", "abc/def/ghi", true},
    {"**/.foo", ".foo", true},
    {"**/.foo", "bar.foo", false},
    {"a(b)c/def", "a(b)c/def", true},
    {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
    {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
    {"*", "abc", true},
    {"a*", "ab/c", true},  // via the parent "ab"
    {"a*/b", "abc/b", true},
    {"a*/b", "a/c/b", false},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
    {"a*b?c*x", "abxbbxdbxebxczzx", true},
    {"a*b?c*x", "abxbbxdbxebxczzy", false},
    {"ab[^c]", "abc", false},
    {"ab[^e-g]", "abc", true},
    {"a?b", "a☺b", true},
    {"a[^a]b", "a☺b", true},
    {"a???b", "a☺b", false},
    {"[a-ζ]*", "α", true},
    {"*[a-ζ]", "A", false},
    {"a?b", "a/b", false},
    {"a*b", "a/b", false},
    {"[\\]a]", "]", true},
    {"[x\\-]", "-", true},
    {"[\\-x]", "a", false},
    {"*x", "xxx", true},
};

TEST(PatternMatcherTest, MatchesUpstreamTable) {
  for (const Case& c : kCases) {
    EXPECT_EQ(Matches({c.pattern}, c.path), c.match)
        << "pattern " << c.pattern << " path " << c.path;
  }
}

TEST(PatternMatcherTest, DockerignoreDocumentationExamples) {
  const std::vector<std::string> temp = {"# comment is just a pattern here", "*/temp*", "*/*/temp*",
                                         "temp?"};
  EXPECT_TRUE(Matches(temp, "somedir/temporary.txt"));
  EXPECT_TRUE(Matches(temp, "somedir/temp"));
  EXPECT_TRUE(Matches(temp, "somedir/subdir/temporary.txt"));
  EXPECT_TRUE(Matches(temp, "tempa"));
  EXPECT_FALSE(Matches(temp, "temp"));
  EXPECT_FALSE(Matches(temp, "temporary.txt"));
  EXPECT_FALSE(Matches(temp, "a/b/c/temp.txt"));

  EXPECT_TRUE(Matches({"**/*.go"}, "main.go"));
  EXPECT_TRUE(Matches({"**/*.go"}, "cmd/tool/main.go"));
  EXPECT_FALSE(Matches({"**/*.go"}, "cmd/tool/main.c"));

  const std::vector<std::string> md = {"*.md", "!README.md"};
  EXPECT_TRUE(Matches(md, "CHANGELOG.md"));
  EXPECT_FALSE(Matches(md, "README.md"));
  EXPECT_FALSE(Matches(md, "docs/guide.md"));  // '*' does not cross directories

  const std::vector<std::string> secret = {"*.md", "!README*.md", "README-secret.md"};
  EXPECT_TRUE(Matches(secret, "notes.md"));
  EXPECT_FALSE(Matches(secret, "README-public.md"));
  EXPECT_TRUE(Matches(secret, "README-secret.md"));

  const std::vector<std::string> last_wins = {"*.md", "README-secret.md", "!README*.md"};
  EXPECT_FALSE(Matches(last_wins, "README-secret.md"));
  EXPECT_TRUE(Matches(last_wins, "notes.md"));

  // "/foo/bar" and "foo/bar" are the same pattern: the context root is "/".
  EXPECT_TRUE(Matches({"/foo/bar"}, "foo/bar"));
  EXPECT_TRUE(Matches({"foo/bar"}, "foo/bar/baz"));
  EXPECT_TRUE(Matches({"./foo//bar/"}, "foo/bar"));
}

TEST(PatternMatcherTest, DirectoryPatternCoversEverythingUnderIt) {
  EXPECT_TRUE(Matches({"docs"}, "docs/a/b/c.md"));
  EXPECT_FALSE(Matches({"docs"}, "docsx/a"));
  EXPECT_FALSE(Matches({"docs", "!docs/README.md"}, "docs/README.md"));
  EXPECT_FALSE(Matches({"docs/", "!docs/README.md"}, "docs/README.md"));
  EXPECT_FALSE(Matches({"docs/*", "!docs/README.md"}, "docs/README.md"));
  EXPECT_TRUE(Matches({"!fileutils.go", "*.go"}, "fileutils.go"));
  EXPECT_FALSE(Matches({"**", "!util/docker/web"}, "util/docker/web/foo"));
  EXPECT_TRUE(Matches({"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo"));
  EXPECT_FALSE(Matches({"**", "!dist/*.whl"}, "dist/proxy-1.0-py3-none-any.whl"));
}

TEST(PatternMatcherTest, EmptyAndWhitespacePatternsAreSkipped) {
  Result<PatternMatcher> pm = PatternMatcher::Create({"docs", "", "   ", "  !docs/README.md  "});
  ASSERT_TRUE(pm.ok());
  ASSERT_EQ(pm->patterns().size(), 2u);
  EXPECT_TRUE(pm->has_exceptions());
  EXPECT_EQ(pm->patterns()[1].text(), "docs/README.md");
  EXPECT_FALSE(PatternMatcher::Create({}).value().MatchesOrParentMatches("any/path"));
}

TEST(PatternMatcherTest, MalformedPatternsAreInvalidArgumentNamingThePattern) {
  for (const char* bad : {"[", "[^", "[^bc", "a[", "\\", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]",
                          "[Local-Only]/", "ok/\\"}) {
    Result<PatternMatcher> pm = PatternMatcher::Create({"fine", bad});
    ASSERT_FALSE(pm.ok()) << bad;
    EXPECT_EQ(pm.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(pm.status().message().find(bad), std::string::npos) << pm.status().message();
  }
  Result<PatternMatcher> bang = PatternMatcher::Create({"!"});
  ASSERT_FALSE(bang.ok());
  EXPECT_EQ(bang.status().code(), Code::kInvalidArgument);
}

TEST(PatternMatcherTest, MayMatchInsideTellsWhichDirectoriesCanBeSkipped) {
  using Set = PatternMatcher::PatternSet;
  PatternMatcher pm =
      PatternMatcher::Create({"vendor", "!vendor/keep/*.go", "build", "!**/important"}).value();
  EXPECT_TRUE(pm.MayMatchInside("vendor", Set::kExceptions));
  EXPECT_TRUE(pm.MayMatchInside("vendor/keep", Set::kExceptions));
  EXPECT_TRUE(pm.MayMatchInside("build", Set::kExceptions));  // "**" can match anywhere

  PatternMatcher plain = PatternMatcher::Create({"node_modules", "!src/*/keep"}).value();
  EXPECT_FALSE(plain.MayMatchInside("node_modules", Set::kExceptions));
  EXPECT_TRUE(plain.MayMatchInside("src", Set::kExceptions));
  EXPECT_TRUE(plain.MayMatchInside("src/x", Set::kExceptions));
  EXPECT_FALSE(plain.MayMatchInside("src/x/other", Set::kExceptions));
  EXPECT_FALSE(plain.MayMatchInside("lib", Set::kExceptions));

  PatternMatcher include = PatternMatcher::Create({"a/b/c.txt", "docs/*.md"}).value();
  EXPECT_TRUE(include.MayMatchInside("a", Set::kInclusions));
  EXPECT_TRUE(include.MayMatchInside("a/b", Set::kInclusions));
  EXPECT_FALSE(include.MayMatchInside("a/c", Set::kInclusions));
  EXPECT_TRUE(include.MayMatchInside("docs", Set::kInclusions));
  EXPECT_FALSE(include.MayMatchInside("src", Set::kInclusions));
  EXPECT_FALSE(include.MayMatchInside("a", Set::kExceptions));
}

}  // namespace
}  // namespace kiln::fsutil
