#include "registry/image_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kName = "docker.io/library/app:1";
const std::string kDiff1 = "sha256:" + std::string(64, '1');
const std::string kDiff2 = "sha256:" + std::string(64, '2');

const std::string kConfig = R"({
  "architecture": "arm", "os": "linux", "variant": "v7",
  "created": "2024-05-01T10:00:00.123456789Z", "author": "someone",
  "config": {
    "User": "1000:1000",
    "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
    "Env": ["PATH=/usr/local/bin:/usr/bin", "A=b=c"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Volumes": {"/data": {}},
    "WorkingDir": "/srv",
    "Labels": {"maintainer": "me", "org.opencontainers.image.version": "1"},
    "StopSignal": "SIGQUIT",
    "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost/"], "Interval": 30000000000,
                    "Timeout": 5000000000, "StartPeriod": 1000000000, "Retries": 3},
    "Shell": ["/bin/bash", "-c"],
    "OnBuild": ["RUN echo hi"]
  },
  "rootfs": {"type": "layers", "diff_ids": [")" +
                            kDiff1 + R"(", ")" + kDiff2 + R"("]},
  "history": [
    {"created": "2024-05-01T09:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in / "},
    {"created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true, "comment": "c"},
    {"created_by": "RUN apk add curl", "author": "a"}
  ],
  "unknown_field": {"kept": "in raw"}
})";

TEST(ImageConfigTest, ParsesEveryModelledField) {
  auto ic = ParseImageConfig(kConfig, kName);
  ASSERT_TRUE(ic.ok()) << ic.status().ToString();
  EXPECT_EQ(ic->platform().String(), "linux/arm/v7");
  EXPECT_EQ(ic->created, "2024-05-01T10:00:00.123456789Z");
  EXPECT_EQ(ic->author, "someone");
  const ContainerConfig& c = ic->config;
  EXPECT_EQ(c.user, "1000:1000");
  EXPECT_THAT(c.exposed_ports, ElementsAre("53/udp", "80/tcp"));
  EXPECT_THAT(c.env, ElementsAre("PATH=/usr/local/bin:/usr/bin", "A=b=c"));
  EXPECT_THAT(*c.entrypoint, ElementsAre("/docker-entrypoint.sh"));
  EXPECT_THAT(*c.cmd, ElementsAre("nginx", "-g", "daemon off;"));
  EXPECT_THAT(c.volumes, ElementsAre("/data"));
  EXPECT_EQ(c.working_dir, "/srv");
  EXPECT_EQ(c.labels.at("maintainer"), "me");
  EXPECT_EQ(c.stop_signal, "SIGQUIT");
  ASSERT_TRUE(c.healthcheck.has_value());
  EXPECT_THAT(c.healthcheck->test, ElementsAre("CMD-SHELL", "curl -f http://localhost/"));
  EXPECT_EQ(c.healthcheck->interval_ns, 30000000000);
  EXPECT_EQ(c.healthcheck->timeout_ns, 5000000000);
  EXPECT_EQ(c.healthcheck->start_period_ns, 1000000000);
  EXPECT_EQ(c.healthcheck->retries, 3);
  EXPECT_THAT(c.shell, ElementsAre("/bin/bash", "-c"));
  EXPECT_THAT(c.on_build, ElementsAre("RUN echo hi"));
  EXPECT_EQ(ic->rootfs_type, "layers");
  ASSERT_EQ(ic->diff_ids.size(), 2u);
  EXPECT_EQ(ic->diff_ids[1].str(), kDiff2);
  ASSERT_EQ(ic->history.size(), 3u);
  EXPECT_TRUE(ic->history[1].empty_layer);
  EXPECT_EQ(ic->history[1].comment, "c");
  EXPECT_EQ(ic->history[2].author, "a");
  EXPECT_EQ(ic->raw, kConfig);
}

TEST(ImageConfigTest, NullAndEmptyCommandsDiffer) {
  auto ic = ParseImageConfig(R"({"config": {"Cmd": null, "Entrypoint": []}})", kName);
  ASSERT_TRUE(ic.ok());
  EXPECT_FALSE(ic->config.cmd.has_value());
  ASSERT_TRUE(ic->config.entrypoint.has_value());
  EXPECT_TRUE(ic->config.entrypoint->empty());
}

TEST(ImageConfigTest, MinimalConfigIsFine) {
  auto ic = ParseImageConfig(R"({"architecture": "amd64", "os": "linux"})", kName);
  ASSERT_TRUE(ic.ok());
  EXPECT_TRUE(ic->diff_ids.empty());
  EXPECT_FALSE(ic->config.healthcheck.has_value());
}

TEST(ImageConfigTest, ErrorsNameTheImageAndTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"{", "invalid JSON"},
      {"3", "want a JSON object"},
      {R"({"os": 1})", "os: want a string"},
      {R"({"config": []})", "config: want an object"},
      {R"({"config": {"Env": "A=b"}})", "config.Env: want a list of strings"},
      {R"({"config": {"Labels": {"a": 1}}})", "config.Labels.a: want a string"},
      {R"({"config": {"Healthcheck": {"Retries": "3"}}})",
       "config.Healthcheck.Retries: want an integer"},
      {R"({"rootfs": {"type": "layers", "diff_ids": ["sha256:x"]}})", "rootfs.diff_ids[0]"},
      {R"({"rootfs": {"type": "other"}})", "rootfs.type: want \"layers\""},
      {R"({"history": [1]})", "history[0]: want an object"},
      {R"({"history": [{"empty_layer": "yes"}]})", "history[0].empty_layer: want true or false"},
  };
  for (const auto& [doc, why] : cases) {
    SCOPED_TRACE(doc);
    auto ic = ParseImageConfig(doc, kName);
    ASSERT_FALSE(ic.ok());
    EXPECT_EQ(ic.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(ic.status().message(), HasSubstr(kName + ": image config"));
    EXPECT_THAT(ic.status().message(), HasSubstr(why));
  }
}

}  // namespace
}  // namespace kiln::registry
