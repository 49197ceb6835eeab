#include "daemon/config.h"

#include <gtest/gtest.h>

namespace kiln::daemon {
namespace {

TEST(ConfigTest, ParsesBuildkitdShape) {
  std::vector<std::string> warnings;
  auto c = ParseConfig(R"(
root = "/tmp/kiln-root"
debug = true
[grpc]
  address = ["unix:///tmp/k.sock"]
[worker.oci]
  snapshotter = "native"
  networkMode = "cni"
  cniConfigPath = "/etc/kiln/net.conflist"
  cniBinaryPath = "/usr/lib/cni"
  max-parallelism = 3
  gckeepstorage = 1000
  [[worker.oci.gcpolicy]]
    keepBytes = 512
    keepDuration = 3600
    filters = ["type==source.local"]
[registry."127.0.0.1:5000"]
  http = true
  mirrors = ["m.example"]
  username = "kiln"
  password = "secret"
)", "kilnd.toml", &warnings);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->root, "/tmp/kiln-root");
  EXPECT_TRUE(c->debug);
  EXPECT_EQ(c->addresses, std::vector<std::string>{"unix:///tmp/k.sock"});
  EXPECT_EQ(c->snapshotter, "native");
  EXPECT_EQ(c->max_parallelism, 3);
  EXPECT_EQ(c->network_mode, "cni");
  EXPECT_EQ(c->cni_config_path, "/etc/kiln/net.conflist");
  EXPECT_EQ(c->cni_binary_path, "/usr/lib/cni");
  ASSERT_EQ(c->gc_policies.size(), 1u);
  EXPECT_EQ(c->gc_policies[0].keep_bytes, 512);
  EXPECT_TRUE(c->registries.at("127.0.0.1:5000").http);
  EXPECT_EQ(c->registries.at("127.0.0.1:5000").username, "kiln");
  EXPECT_EQ(c->registries.at("127.0.0.1:5000").password, "secret");
  EXPECT_TRUE(warnings.empty());
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  std::vector<std::string> warnings;
  auto c = ParseConfig("root = \"/x\"\n[worker.oci\n", "kilnd.toml", &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("kilnd.toml:2"), std::string::npos) << c.status().message();
}

TEST(ConfigTest, WrongTypeNamesKey) {
  std::vector<std::string> warnings;
  auto c = ParseConfig("[worker.oci]\nmax-parallelism = \"many\"\n", "k.toml", &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("max-parallelism"), std::string::npos);
  EXPECT_NE(c.status().message().find("k.toml:2"), std::string::npos);
}

TEST(ConfigTest, UnknownKeysAreWarnings) {
  std::vector<std::string> warnings;
  auto c = ParseConfig("rooot = \"/x\"\n", "k.toml", &warnings);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("rooot"), std::string::npos);
}

TEST(ConfigTest, RegistryCredentialsNeedBothParts) {
  std::vector<std::string> warnings;
  auto c = ParseConfig("[registry.\"r.example\"]\nusername = \"u\"\n", "kilnd.toml", &warnings);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("needs both username and password"), std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace kiln::daemon
