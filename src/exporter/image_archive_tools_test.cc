// The image archives checked by the tools that read them: skopeo (oci-archive, docker-archive)
// and umoci (the layout directory). Each test skips when its tool is not installed.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exporter/image_archive.h"
#include "exporter/testing/image_testing.h"

namespace kiln::exporter {
namespace {

using nlohmann::json;
using registry::Descriptor;
using testing::CommandResult;
using testing::Docker;
using testing::HaveTool;
using testing::ImageArchiveTest;
using testing::OCI;
using testing::ReadFile;
using testing::RunCommand;
using testing::TestImage;
using testing::WriteFile;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::kiln::Status s_ = (expr);                             \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)

TEST_F(ImageArchiveTest, SkopeoReadsTheOCIArchive) {
  if (!HaveTool("skopeo")) {
    GTEST_SKIP() << "skopeo is not installed";
  }
  TestImage img = Simple();
  auto tar = Archive(img.manifest, OCI({"foo:latest"}));
  ASSERT_TRUE(tar.ok());
  WriteFile(tmp_.Sub("oci.tar"), *tar);
  CommandResult r = RunCommand("skopeo inspect oci-archive:" + tmp_.Sub("oci.tar"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json j = json::parse(r.output);
  EXPECT_EQ(j["Digest"], img.manifest.digest.str());
  EXPECT_EQ(j["Layers"].size(), 2u);

  // Every blob checked against its digest on the way out.
  r = RunCommand("skopeo copy oci-archive:" + tmp_.Sub("oci.tar") + " dir:" + tmp_.Sub("copy"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(ImageArchiveTest, SkopeoReadsTheDockerArchive) {
  if (!HaveTool("skopeo")) {
    GTEST_SKIP() << "skopeo is not installed";
  }
  TestImage img = Simple();
  auto tar = Archive(img.manifest, Docker({"docker.io/library/foo:latest"}));
  ASSERT_TRUE(tar.ok());
  WriteFile(tmp_.Sub("docker.tar"), *tar);
  CommandResult r = RunCommand("skopeo inspect docker-archive:" + tmp_.Sub("docker.tar"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json j = json::parse(r.output);
  EXPECT_EQ(j["Architecture"], "amd64");
  EXPECT_EQ(j["Layers"].size(), 2u);
  r = RunCommand("skopeo inspect docker-archive:" + tmp_.Sub("docker.tar") + ":foo:latest");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(ImageArchiveTest, SkopeoReadsAMultiPlatformOCIArchive) {
  if (!HaveTool("skopeo")) {
    GTEST_SKIP() << "skopeo is not installed";
  }
  TestImage amd64, arm64;
  Descriptor index = TwoPlatformIndex(&amd64, &arm64);
  auto tar = Archive(index, OCI({"multi:1"}));
  ASSERT_TRUE(tar.ok());
  WriteFile(tmp_.Sub("multi.tar"), *tar);
  CommandResult r =
      RunCommand("skopeo --override-arch arm64 --override-os linux inspect oci-archive:" +
                 tmp_.Sub("multi.tar"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["Architecture"], "arm64");
  r = RunCommand("skopeo copy --all oci-archive:" + tmp_.Sub("multi.tar") +
                 " oci:" + tmp_.Sub("copy"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(ImageArchiveTest, UmociReadsTheLayoutDir) {
  if (!HaveTool("umoci")) {
    GTEST_SKIP() << "umoci is not installed";
  }
  TestImage img = Simple();
  std::string dir = tmp_.Sub("layout");
  ASSERT_OK(WriteOCILayoutDir(ctx_, *store_, img.manifest, OCI({"foo:1.0"}), dir));
  CommandResult r = RunCommand("umoci ls --layout " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "1.0\n");
  r = RunCommand("umoci unpack --rootless --image " + dir + ":1.0 " + tmp_.Sub("bundle"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(tmp_.Sub("bundle/rootfs/etc/motd")), "hi there");
}

}  // namespace
}  // namespace kiln::exporter
