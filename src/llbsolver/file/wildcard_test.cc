#include "llbsolver/file/wildcard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "llbsolver/file/testing/temp_root.h"

namespace kiln::llbsolver::file {
namespace {

using testing::TempRoot;
using testing::WriteFile;
using Paths = std::vector<std::string>;

TEST(WildcardTest, SplitsAtTheFirstWildcardComponent) {
  struct Case {
    const char* path;
    const char* before;
    const char* rest;
  };
  const Case cases[] = {
      {"/a/b/c", "/a/b/c", ""},       {"/a/*.go", "/a", "*.go"},
      {"/a/b*/c/d", "/a", "b*/c/d"},  {"/*", "/", "*"},
      {"/a/[xy]", "/a", "[xy]"},      {"/a/b?/", "/a", "b?"},
      {"/a/\\*lit", "/a/\\*lit", ""}, {"//a/./b/../*.txt", "/a", "*.txt"},
  };
  for (const Case& c : cases) {
    auto [before, rest] = SplitWildcards(c.path);
    EXPECT_EQ(before, c.before) << c.path;
    EXPECT_EQ(rest, c.rest) << c.path;
  }
}

TEST(WildcardTest, ResolvesMatchesInLexicalOrder) {
  TempRoot root;
  WriteFile(root / "src/b.go", "");
  WriteFile(root / "src/a.go", "");
  WriteFile(root / "src/a.txt", "");
  WriteFile(root / "src/pkg1/x.go", "");
  WriteFile(root / "src/pkg2/y.go", "");
  WriteFile(root / "src/pkg2/deeper/z.go", "");
  WriteFile(root / "*star", "");
  ASSERT_EQ(symlink("src", (root / "link").c_str()), 0);
  struct Case {
    const char* pattern;
    bool follow;
    Paths want;
  };
  const Case cases[] = {
      {"/src/*.go", false, {"/src/a.go", "/src/b.go"}},
      {"/src/pkg*/*.go", false, {"/src/pkg1/x.go", "/src/pkg2/y.go"}},
      {"/src/pkg?", false, {"/src/pkg1", "/src/pkg2"}},
      {"/src/[ab].*", false, {"/src/a.go", "/src/a.txt", "/src/b.go"}},
      {"/src/*.none", false, {}},
      {"/\\*star", false, {"/\\*star"}},  // no wildcard: returned as is
      {"/no/such/file", false, {"/no/such/file"}},
      {"/link/*.txt", true, {"/src/a.txt"}},
      {"/link/*.txt", false, {}},  // the unfollowed link is not a directory
      {"/src/a.txt/*", false, {}},
  };
  for (const Case& c : cases) {
    Result<Paths> got = ResolveWildcards(Context::Background(), root.path(), c.pattern, c.follow);
    ASSERT_TRUE(got.ok()) << c.pattern << ": " << got.status().ToString();
    EXPECT_EQ(*got, c.want) << c.pattern;
  }
}

TEST(WildcardTest, MissingDirectoryBeforeTheWildcardIsNotFound) {
  TempRoot root;
  Result<Paths> got = ResolveWildcards(Context::Background(), root.path(), "/missing/*", true);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace kiln::llbsolver::file
