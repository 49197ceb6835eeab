// docker's config.json as kilnctl reads it for registry credentials: the `auths` forms docker
// writes, the Docker Hub key, credential helper selection and the errors users see.

#include "client/docker_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "client/tree_merge.h"
#include "util/base64.h"

namespace kiln::client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPath[] = "/home/u/.docker/config.json";

struct EntryCase {
  const char* name;
  std::string json;
  std::string key;  // looked up with FindAuthEntry(DockerConfigKey(host))
  std::optional<DockerAuthEntry> want;
};

std::string Auth(const std::string& user_pass) { return Base64Encode(user_pass); }

class DockerConfigEntryTest : public ::testing::TestWithParam<EntryCase> {};

TEST_P(DockerConfigEntryTest, FindsTheEntryDockerWould) {
  const EntryCase& c = GetParam();
  auto config = ParseDockerConfig(c.json, kPath);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(FindAuthEntry(*config, DockerConfigKey(c.key)), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DockerConfigEntryTest,
    ::testing::Values(
        EntryCase{"AuthField",
                  R"({"auths":{"127.0.0.1:5000":{"auth":")" + Auth("alice:s3cret") + R"("}}})",
                  "127.0.0.1:5000", DockerAuthEntry{"alice", "s3cret", ""}},
        EntryCase{"AuthPasswordKeepsColons",
                  R"({"auths":{"r.example":{"auth":")" + Auth("bob:a:b:c") + R"("}}})", "r.example",
                  DockerAuthEntry{"bob", "a:b:c", ""}},
        EntryCase{
            "AuthPasswordLosesTrailingNuls",
            R"({"auths":{"r.example":{"auth":")" + Auth(std::string("bob:pw\0\0", 9)) + R"("}}})",
            "r.example", DockerAuthEntry{"bob", "pw", ""}},
        EntryCase{"UsernamePassword",
                  R"({"auths":{"127.0.0.1:5000":{"username":"u","password":"p"}}})",
                  "127.0.0.1:5000", DockerAuthEntry{"u", "p", ""}},
        EntryCase{
            "AuthWinsOverUsernamePassword",
            R"({"auths":{"h":{"username":"u","password":"p","auth":")" + Auth("a:b") + R"("}}})",
            "h", DockerAuthEntry{"a", "b", ""}},
        EntryCase{"IdentityToken", R"({"auths":{"h:443":{"identitytoken":"refresh-tok"}}})",
                  "h:443", DockerAuthEntry{"", "", "refresh-tok"}},
        EntryCase{"FieldNamesIgnoreCaseAsGoDoes",
                  R"({"Auths":{"h":{"Username":"u","PASSWORD":"p","IdentityToken":"t"}}})", "h",
                  DockerAuthEntry{"u", "p", "t"}},
        EntryCase{
            "DockerHubFromRegistryHost",
            R"({"auths":{"https://index.docker.io/v1/":{"auth":")" + Auth("hub:pw") + R"("}}})",
            "registry-1.docker.io", DockerAuthEntry{"hub", "pw", ""}},
        EntryCase{"DockerHubFromDockerIo",
                  R"({"auths":{"https://index.docker.io/v1/":{"username":"hub","password":"x"}}})",
                  "docker.io", DockerAuthEntry{"hub", "x", ""}},
        EntryCase{"LegacyURLKey",
                  R"({"auths":{"https://127.0.0.1:5000/v1/":{"username":"u","password":"p"}}})",
                  "127.0.0.1:5000", DockerAuthEntry{"u", "p", ""}},
        EntryCase{"OtherHostIsNotMatched", R"({"auths":{"a.example":{"username":"u"}}})",
                  "b.example", std::nullopt},
        EntryCase{"HostDoesNotMatchAPrefix", R"({"auths":{"127.0.0.1:5000":{"username":"u"}}})",
                  "127.0.0.1", std::nullopt},
        EntryCase{"NullEntryIsEmpty", R"({"auths":{"h":null}})", "h", DockerAuthEntry{}},
        EntryCase{"UnknownFieldsIgnored",
                  R"({"auths":{"h":{"email":"x@y","username":"u"}},"psFormat":"table"})", "h",
                  DockerAuthEntry{"u", "", ""}},
        EntryCase{"NoAuths", R"({"credsStore":""})", "h", std::nullopt}),
    [](const ::testing::TestParamInfo<EntryCase>& info) { return info.param.name; });

struct ErrorCase {
  const char* name;
  std::string json;
  std::string message;  // after "<path>: "
};

class DockerConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DockerConfigErrorTest, ErrorNamesTheFile) {
  const ErrorCase& c = GetParam();
  auto config = ParseDockerConfig(c.json, kPath);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(config.status().message(), StartsWith(std::string(kPath) + ": " + c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Table, DockerConfigErrorTest,
    ::testing::Values(
        ErrorCase{"TruncatedJSON", R"({"auths":{"h":{"username":"u")",
                  "invalid JSON: parse error at line 1, column "},
        ErrorCase{"NotAnObject", "[1,2]", "not a JSON object"},
        ErrorCase{"AuthsNotAnObject", R"({"auths":["h"]})", "\"auths\" is not an object"},
        ErrorCase{"EntryNotAnObject", R"({"auths":{"h":"u:p"}})", "auths[\"h\"] is not an object"},
        ErrorCase{"FieldNotAString", R"({"auths":{"h":{"password":1}}})",
                  "auths[\"h\"].password is not a string"},
        ErrorCase{"AuthNotBase64", R"({"auths":{"h":{"auth":"%%%"}}})",
                  "auths[\"h\"].auth is not the base64 of \"user:password\""},
        ErrorCase{"AuthWithoutColon", R"({"auths":{"h":{"auth":")" + Auth("nocolon") + R"("}}})",
                  "auths[\"h\"].auth is not the base64"},
        ErrorCase{"AuthWithoutUser", R"({"auths":{"h":{"auth":")" + Auth(":pw") + R"("}}})",
                  "auths[\"h\"].auth is not the base64"},
        ErrorCase{"CredsStoreNotAString", R"({"credsStore":{}})", "\"credsStore\" is not a string"},
        ErrorCase{"CredHelperNotAString", R"({"credHelpers":{"gcr.io":true}})",
                  "credHelpers[\"gcr.io\"] is not a string"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(DockerConfigTest, EmptyFileIsAnEmptyConfig) {
  auto config = ParseDockerConfig(" \n", kPath);
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->auths.empty());
  EXPECT_EQ(config->path, kPath);
}

TEST(DockerConfigTest, HelperForAHostOverridesTheStore) {
  auto config = ParseDockerConfig(
      R"({"credsStore":"pass","credHelpers":{"gcr.io":"gcloud","plain.example":""}})", kPath);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(CredentialHelperFor(*config, "gcr.io"), "gcloud");
  EXPECT_EQ(CredentialHelperFor(*config, "127.0.0.1:5000"), "pass");
  // An empty helper for a host means the file, even with a credsStore (docker does the same).
  EXPECT_EQ(CredentialHelperFor(*config, "plain.example"), "");
}

TEST(DockerConfigTest, DockerHubHostsShareTheIndexKey) {
  for (const char* host : {"registry-1.docker.io", "docker.io", "index.docker.io"}) {
    EXPECT_EQ(DockerConfigKey(host), kDockerHubConfigKey) << host;
  }
  EXPECT_EQ(DockerConfigKey("127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(DockerConfigKey("ghcr.io"), "ghcr.io");
}

TEST(DockerConfigTest, PathComesFromDockerConfigThenHome) {
  std::map<std::string, const char*> env = {{"DOCKER_CONFIG", "/etc/dc"}, {"HOME", "/home/u"}};
  auto get = [&env](const char* k) -> const char* {
    auto it = env.find(k);
    return it == env.end() ? nullptr : it->second;
  };
  EXPECT_EQ(DockerConfigPath(get), "/etc/dc/config.json");
  env.erase("DOCKER_CONFIG");
  EXPECT_EQ(DockerConfigPath(get), "/home/u/.docker/config.json");
  env["DOCKER_CONFIG"] = "";
  EXPECT_EQ(DockerConfigPath(get), "/home/u/.docker/config.json");
}

TEST(DockerConfigTest, LoadReadsTheFileAndAMissingOneIsEmpty) {
  char tmpl[] = "/tmp/kiln-dockercfg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/config.json") << R"({"auths":{"h":{"username":"u","password":"p"}}})";

  auto loaded = LoadDockerConfig(dir + "/config.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(FindAuthEntry(*loaded, "h"), (DockerAuthEntry{"u", "p", ""}));

  auto missing = LoadDockerConfig(dir + "/nope/config.json");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_TRUE(missing->auths.empty());

  auto is_dir = LoadDockerConfig(dir);
  ASSERT_FALSE(is_dir.ok());
  EXPECT_THAT(is_dir.status().message(), HasSubstr(dir));
  RemoveTree(dir).IgnoreError();
}

}  // namespace
}  // namespace kiln::client
