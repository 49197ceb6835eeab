#include "client/metadata_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "util/base64.h"

namespace kiln::client {
namespace {

TEST(Base64Test, RoundTripsAndIsStrict) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("hi\n"), "aGkK");
  EXPECT_FALSE(Base64Decode("aGk").has_value());  // missing padding
  EXPECT_FALSE(Base64Decode("sha256:abcd").has_value());
  EXPECT_FALSE(Base64Decode("a=bc").has_value());
  EXPECT_EQ(*Base64Decode("aG\nkK"), "hi\n");  // newlines are skipped, as in Go
}

TEST(MetadataJsonTest, DecodesBase64JsonObjectsInline) {
  std::string desc = R"({"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                     R"("digest":"sha256:abc","size":123})";
  std::map<std::string, std::string> resp = {
      {"containerimage.digest", "sha256:abc"},
      {"containerimage.descriptor", Base64Encode(desc)},
      {"image.name", "docker.io/library/x:latest"},
  };
  EXPECT_EQ(MetadataJson(resp),
            "{\n"
            "  \"containerimage.descriptor\": {\n"
            "    \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
            "    \"digest\": \"sha256:abc\",\n"
            "    \"size\": 123\n"
            "  },\n"
            "  \"containerimage.digest\": \"sha256:abc\",\n"
            "  \"image.name\": \"docker.io/library/x:latest\"\n"
            "}");
}

TEST(MetadataJsonTest, KeepsNonObjectsAndEmptyObjectsAsStrings) {
  std::map<std::string, std::string> resp = {
      {"array", Base64Encode("[1,2]")},
      {"empty", Base64Encode("{}")},
      {"plain", "abcd"},  // valid base64 of binary, not JSON
      {"html", "<a&b>"},
  };
  EXPECT_EQ(MetadataJson(resp),
            "{\n"
            "  \"array\": \"WzEsMl0=\",\n"
            "  \"empty\": \"e30=\",\n"
            "  \"html\": \"\\u003ca\\u0026b\\u003e\",\n"
            "  \"plain\": \"abcd\"\n"
            "}");
}

TEST(MetadataJsonTest, EmptyResponseIsEmptyObject) { EXPECT_EQ(MetadataJson({}), "{}"); }

TEST(MetadataFileTest, WritesAtomically) {
  char tmpl[] = "/tmp/kiln-md-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/md.json";
  std::ofstream(path) << "old";
  ASSERT_TRUE(WriteMetadataFile(path, {{"k", "v"}}).ok());
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  EXPECT_EQ(ss.str(), "{\n  \"k\": \"v\"\n}");
  unlink(path.c_str());
  EXPECT_EQ(rmdir(tmpl), 0) << "a temporary file was left behind";
}

}  // namespace
}  // namespace kiln::client
