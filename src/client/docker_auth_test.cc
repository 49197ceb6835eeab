// What kilnctl answers to the daemon's Auth.Credentials(host): docker's config file entries,
// credential helpers (fake ones written here and put first on PATH), and the errors a user sees.

#include "client/docker_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "client/credential_helper.h"
#include "client/tree_merge.h"
#include "util/base64.h"

namespace kiln::client {
namespace {

using ::testing::HasSubstr;

class DockerAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-dockerauth-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(mkdir((dir_ + "/bin").c_str(), 0755), 0);
    const char* path = getenv("PATH");
    old_path_ = path != nullptr ? path : "";
    setenv("PATH", (dir_ + "/bin:" + old_path_).c_str(), 1);
  }
  void TearDown() override {
    setenv("PATH", old_path_.c_str(), 1);
    RemoveTree(dir_).IgnoreError();
  }

  std::string WriteConfig(const std::string& json) {
    std::ofstream(dir_ + "/config.json") << json;
    return dir_ + "/config.json";
  }
  // docker-credential-<name>: a shell script that saves its stdin and runs `body`.
  void WriteHelper(const std::string& name, const std::string& body) {
    std::string file = dir_ + "/bin/docker-credential-" + name;
    std::ofstream(file) << "#!/bin/sh\n"
                        << "[ \"$1\" = get ] || { echo \"unexpected action $1\"; exit 2; }\n"
                        << "cat > " << dir_ << "/stdin-" << name << "\n"
                        << body << "\n";
    ASSERT_EQ(chmod(file.c_str(), 0755), 0);
  }
  std::string HelperStdin(const std::string& name) {
    std::stringstream ss;
    ss << std::ifstream(dir_ + "/stdin-" + name).rdbuf();
    return ss.str();
  }
  Result<RegistryCredentials> Ask(const std::string& config_json, const std::string& host) {
    DockerAuthProvider p(WriteConfig(config_json));
    return p.Credentials(Context::Background(), host);
  }

  std::string dir_;
  std::string old_path_;
};

TEST_F(DockerAuthTest, AuthFieldGivesUserAndPassword) {
  auto c = Ask(R"({"auths":{"127.0.0.1:5000":{"auth":")" + Base64Encode("alice:pw") + R"("}}})",
               "127.0.0.1:5000");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, (RegistryCredentials{"alice", "pw"}));
}

TEST_F(DockerAuthTest, DockerHubHostReadsTheIndexKey) {
  auto c = Ask(R"({"auths":{"https://index.docker.io/v1/":{"username":"hub","password":"pw"}}})",
               "registry-1.docker.io");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, (RegistryCredentials{"hub", "pw"}));
}

TEST_F(DockerAuthTest, IdentityTokenIsTheSecretWithoutUsername) {
  auto c = Ask(R"({"auths":{"r.example":{"username":"u","password":"p","identitytoken":"tok"}}})",
               "r.example");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, (RegistryCredentials{"", "tok"}));
}

TEST_F(DockerAuthTest, NoEntryIsAnonymousNotAnError) {
  auto c = Ask(R"({"auths":{"other.example":{"username":"u","password":"p"}}})", "r.example");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->empty());
}

TEST_F(DockerAuthTest, MissingConfigFileIsAnonymous) {
  DockerAuthProvider p(dir_ + "/no-such-dir/config.json");
  auto c = p.Credentials(Context::Background(), "r.example");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->empty());
}

TEST_F(DockerAuthTest, MalformedConfigFailsOnlyWhenAsked) {
  std::string path = WriteConfig(R"({"auths": {)");
  DockerAuthProvider p(path);  // constructing reads nothing
  auto c = p.Credentials(Context::Background(), "r.example");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(path + ": invalid JSON"));
}

TEST_F(DockerAuthTest, CredHelperGetsTheServerURLOnStdin) {
  WriteHelper("fake", R"(echo '{"ServerURL":"x","Username":"helper-user","Secret":"helper-pw"}')");
  auto c = Ask(R"({"auths":{"127.0.0.1:5000":{"username":"file","password":"file"}},
                   "credHelpers":{"127.0.0.1:5000":"fake"}})",
               "127.0.0.1:5000");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, (RegistryCredentials{"helper-user", "helper-pw"}));
  EXPECT_EQ(HelperStdin("fake"), "127.0.0.1:5000");
}

TEST_F(DockerAuthTest, CredsStoreIsAskedWithTheDockerHubKey) {
  WriteHelper("store", R"(echo '{"Username":"<token>","Secret":"identity"}')");
  auto c = Ask(R"({"credsStore":"store"})", "registry-1.docker.io");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, (RegistryCredentials{"", "identity"}));
  EXPECT_EQ(HelperStdin("store"), "https://index.docker.io/v1/");
}

TEST_F(DockerAuthTest, HelperWithoutTheHostIsAnonymous) {
  WriteHelper("store", "echo 'credentials not found in native keychain'; exit 1");
  auto c = Ask(R"({"credsStore":"store","auths":{"h":{"username":"u","password":"p"}}})", "h");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->empty());
}

TEST_F(DockerAuthTest, HelperFailureIsAnErrorInItsOwnWords) {
  WriteHelper("store", "echo 'gpg: decryption failed: No secret key' >&2; exit 1");
  std::string path = WriteConfig(R"({"credsStore":"store"})");
  DockerAuthProvider p(path);
  auto c = p.Credentials(Context::Background(), "r.example");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "credsStore in " + path +
                ": docker-credential-store get: gpg: decryption failed: No secret key (exit "
                "status 1)");
}

TEST_F(DockerAuthTest, HelperOutputThatIsNotJSONIsAnError) {
  WriteHelper("store", "echo 'not json'");
  auto c = Ask(R"({"credsStore":"store"})", "r.example");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr("docker-credential-store get: its output is not a JSON object"));
}

TEST_F(DockerAuthTest, MissingHelperIsAnErrorNamingIt) {
  std::string path = WriteConfig(R"({"credHelpers":{"r.example":"nope"}})");
  DockerAuthProvider p(path);
  auto c = p.Credentials(Context::Background(), "r.example");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_EQ(c.status().message(), "credHelpers in " + path +
                                      ": docker-credential-nope: executable file not found in "
                                      "$PATH");
}

TEST_F(DockerAuthTest, AnswersAreKeptPerHost) {
  // The helper counts its runs in a file.
  WriteHelper("count", "echo x >> " + dir_ + "/runs\n" + R"(echo '{"Username":"u","Secret":"s"}')");
  DockerAuthProvider p(WriteConfig(R"({"credsStore":"count"})"));
  for (int i = 0; i < 3; ++i) {
    auto c = p.Credentials(Context::Background(), "r.example");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(*c, (RegistryCredentials{"u", "s"}));
  }
  std::stringstream ss;
  ss << std::ifstream(dir_ + "/runs").rdbuf();
  EXPECT_EQ(ss.str(), "x\n");
}

TEST_F(DockerAuthTest, CancellingKillsAHangingHelper) {
  WriteHelper("hang", "exec sleep 30");
  Context ctx = Context::Background().WithTimeout(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  auto c = GetFromCredentialHelper(ctx, "hang", "r.example");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kDeadlineExceeded);
  // Not a timing assertion on the helper: only that we did not wait for `sleep 30`.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

}  // namespace
}  // namespace kiln::client
