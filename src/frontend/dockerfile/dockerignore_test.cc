#include "frontend/dockerfile/dockerignore.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace kiln::dockerfile {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;

TEST(ReadDockerignoreTest, AppliesBuildKitsRules) {
  auto p = ReadDockerignore(
      "\xEF\xBB\xBF# comment\n"
      "  # indented is a pattern\n"
      "/abs/path\n"
      "!  /x/../y/\n"
      "\n"
      "   \t\n"
      "  a//b/./c/  \r\n"
      "./d\n"
      "../up\n"
      "*.go\n"
      "**/node_modules\n"
      "!important.go");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_THAT(*p, ElementsAre("# indented is a pattern", "abs/path", "!y", "a/b/c", "d", "../up",
                              "*.go", "**/node_modules", "!important.go"));
}

TEST(ReadDockerignoreTest, RootAndDotStay) {
  auto p = ReadDockerignore("/\n.\n//\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_THAT(*p, ElementsAre("/", ".", "/"));
}

TEST(ReadDockerignoreTest, EmptyFileHasNoPatterns) {
  auto p = ReadDockerignore("");
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(*p, IsEmpty());
}

TEST(ReadDockerignoreTest, BadPatternIsAnErrorNamingIt) {
  auto p = ReadDockerignore("ok\nsrc/[z-a]\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("src/[z-a]"));
  auto unclosed = ReadDockerignore("a[b\n");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_THAT(unclosed.status().message(), HasSubstr("a[b"));
}

TEST(ReadDockerignoreTest, LoneExclamationMarkIsAnError) {
  auto p = ReadDockerignore("!\n");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("illegal exclusion pattern"));
}

TEST(ReadDockerignoreTest, OverlongLineIsAnError) {
  auto p = ReadDockerignore(std::string(70000, 'a'));
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("token too long"));
}

// An in-memory context: name -> contents; reads of other names are "not found", and names in
// `broken` fail.
struct FakeFiles {
  std::map<std::string, std::string> files;
  std::vector<std::string> reads;
  std::string broken;

  ReadFileFn Reader() {
    return [this](std::string_view name) -> Result<std::optional<std::string>> {
      reads.emplace_back(name);
      if (name == broken) return Internal("disk on fire");
      auto it = files.find(std::string(name));
      if (it == files.end()) return std::optional<std::string>();
      return std::optional<std::string>(it->second);
    };
  }
};

TEST(LoadDockerignoreTest, DockerfileSpecificFileWins) {
  FakeFiles fs;
  fs.files = {{"app/web.Dockerfile.dockerignore", "web-only\n"}, {".dockerignore", "generic\n"}};
  auto f = LoadDockerignore("app/web.Dockerfile", fs.Reader());
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->name, "app/web.Dockerfile.dockerignore");
  EXPECT_THAT(f->patterns, ElementsAre("web-only"));
  EXPECT_THAT(fs.reads, ElementsAre("app/web.Dockerfile.dockerignore"));
}

TEST(LoadDockerignoreTest, FallsBackToContextRoot) {
  FakeFiles fs;
  fs.files = {{".dockerignore", "generic\n!keep\n"}};
  auto f = LoadDockerignore("Dockerfile", fs.Reader());
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->name, ".dockerignore");
  EXPECT_THAT(f->patterns, ElementsAre("generic", "!keep"));
  EXPECT_THAT(fs.reads, ElementsAre("Dockerfile.dockerignore", ".dockerignore"));
}

TEST(LoadDockerignoreTest, EmptySpecificFileStillWins) {
  FakeFiles fs;
  fs.files = {{"Dockerfile.dockerignore", ""}, {".dockerignore", "generic\n"}};
  auto f = LoadDockerignore("Dockerfile", fs.Reader());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->name, "Dockerfile.dockerignore");
  EXPECT_THAT(f->patterns, IsEmpty());
}

TEST(LoadDockerignoreTest, NoFileMeansNoPatterns) {
  FakeFiles fs;
  auto f = LoadDockerignore("Dockerfile", fs.Reader());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->name, "");
  EXPECT_THAT(f->patterns, IsEmpty());
}

TEST(LoadDockerignoreTest, ErrorsNameTheFile) {
  FakeFiles fs;
  fs.files = {{".dockerignore", "[\n"}};
  auto bad = LoadDockerignore("Dockerfile", fs.Reader());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("failed parsing .dockerignore: "));
  EXPECT_THAT(bad.status().message(), HasSubstr("\"[\""));

  fs.broken = ".dockerignore";
  auto io = LoadDockerignore("Dockerfile", fs.Reader());
  ASSERT_FALSE(io.ok());
  EXPECT_EQ(io.status().message(), "disk on fire");
}

}  // namespace
}  // namespace kiln::dockerfile
