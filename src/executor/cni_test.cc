// CNI config parsing, plugin stdin and plugin errors (no root, no plugins needed).
#include "executor/cni.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::executor {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(CniConfigTest, ConfFileIsOnePlugin) {
  auto c = ParseCniConfig(R"({"cniVersion":"1.0.0","name":"net","type":"bridge","bridge":"b0"})",
                          "/x/cni.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->is_list);
  EXPECT_EQ(c->name, "net");
  EXPECT_EQ(c->cni_version, "1.0.0");
  ASSERT_EQ(c->plugins.size(), 1u);
  EXPECT_EQ(c->plugins[0]["bridge"], "b0");
}

TEST(CniConfigTest, ConflistIsChosenByFileName) {
  auto c = ParseCniConfig(
      R"({"cniVersion":"0.4.0","name":"net","plugins":[{"type":"bridge"},{"type":"firewall"}]})",
      "/x/net.conflist");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->is_list);
  ASSERT_EQ(c->plugins.size(), 2u);
  EXPECT_EQ(c->plugins[1]["type"], "firewall");
}

TEST(CniConfigTest, ErrorsNameTheFileAndField) {
  struct Case {
    const char* path;
    const char* data;
    const char* error;
  } cases[] = {
      {"/e/cni.json", "{", "cni config /e/cni.json: not valid JSON"},
      {"/e/cni.json", "[]", "cni config /e/cni.json: not a JSON object"},
      {"/e/cni.json", R"({"cniVersion":"1.0.0","type":"bridge"})",
       "cni config /e/cni.json: field \"name\" is missing or not a string"},
      {"/e/cni.json", R"({"name":"n","type":"bridge"})",
       "cni config /e/cni.json: field \"cniVersion\" is missing or not a string"},
      {"/e/cni.json", R"({"name":"n","cniVersion":"1.0.0","type":3})",
       "cni config /e/cni.json: field \"type\" is missing or not a string"},
      {"/e/cni.json", R"({"name":"n","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})",
       "cni config /e/cni.json: has \"plugins\" (a list) but is not named *.conflist"},
      {"/e/n.conflist", R"({"name":"n","cniVersion":"1.0.0","type":"bridge"})",
       "cni config /e/n.conflist: field \"plugins\" is missing or not a non-empty list"},
      {"/e/n.conflist", R"({"name":"n","cniVersion":"1.0.0","plugins":[]})",
       "cni config /e/n.conflist: field \"plugins\" is missing or not a non-empty list"},
      {"/e/n.conflist", R"({"name":"n","cniVersion":"1.0.0","plugins":[{"type":"a"},{}]})",
       "cni config /e/n.conflist: plugins[1]: field \"type\" is missing or not a string"},
  };
  for (const auto& c : cases) {
    auto r = ParseCniConfig(c.data, c.path);
    ASSERT_FALSE(r.ok()) << c.data;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.error);
  }
}

TEST(CniConfigTest, MissingFileIsNamed) {
  auto r = LoadCniConfig("/nonexistent/cni.json");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/cni.json"));
}

TEST(CniConfigTest, ListPluginsGetNameVersionAndPrevResult) {
  auto c = ParseCniConfig(
      R"({"cniVersion":"1.0.0","name":"net","plugins":[{"type":"bridge"},{"type":"firewall"}]})",
      "/x/net.conflist");
  ASSERT_TRUE(c.ok());
  json first = json::parse(CniPluginStdin(*c, 0, json()));
  EXPECT_EQ(first, json::parse(R"({"type":"bridge","name":"net","cniVersion":"1.0.0"})"));
  json prev = {{"cniVersion", "1.0.0"}, {"ips", json::array()}};
  json second = json::parse(CniPluginStdin(*c, 1, prev));
  EXPECT_EQ(second["prevResult"], prev);
  EXPECT_EQ(second["name"], "net");
}

TEST(CniConfigTest, PluginJsonErrorBecomesMessage) {
  Status s =
      CniPluginError("bridge", "ADD", "net", 1,
                     R"({"code":11,"msg":"failed to set bridge addr","details":"EPERM"})", "");
  EXPECT_EQ(s.message(),
            "cni plugin \"bridge\" ADD (network \"net\") failed: failed to set bridge addr: "
            "EPERM (code 11)");
  Status raw = CniPluginError("host-local", "DEL", "net", 2, "", "boom\n");
  EXPECT_EQ(raw.message(), "cni plugin \"host-local\" DEL (network \"net\") failed: boom");
  Status silent = CniPluginError("x", "ADD", "net", 3, "", "");
  EXPECT_THAT(silent.message(), HasSubstr("exit code 3"));
}

TEST(CniConfigTest, BinaryDirsSplitLikeCniPath) {
  EXPECT_EQ(SplitCniPath("/opt/cni/bin::/usr/lib/cni:"),
            (std::vector<std::string>{"/opt/cni/bin", "/usr/lib/cni"}));
  EXPECT_TRUE(SplitCniPath("").empty());
}

}  // namespace
}  // namespace kiln::executor
