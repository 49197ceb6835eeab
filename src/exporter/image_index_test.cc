#include "exporter/image_index.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exporter/platform_refs.h"
#include "util/digest.h"

namespace kiln::exporter {
namespace {

registry::Descriptor Manifest(const std::string& body, const std::string& arch,
                              const std::string& variant = "") {
  registry::Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  d.digest = Digest::FromBytes(body);
  d.size = static_cast<int64_t>(body.size());
  d.platform = registry::Platform{"linux", arch, variant, "", {}};
  return d;
}

TEST(ImageIndexTest, ListsEachManifestWithItsPlatformInOrder) {
  auto amd = Manifest("a", "amd64"), arm = Manifest("b", "arm", "v7");
  std::string json = IndexJson({amd, arm}, /*oci_mediatypes=*/true);
  EXPECT_EQ(json, R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": ")" + amd.digest.str() +
                      R"(",
      "size": 1,
      "platform": {
        "architecture": "amd64",
        "os": "linux"
      }
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": ")" + arm.digest.str() +
                      R"(",
      "size": 1,
      "platform": {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7"
      }
    }
  ]
})");
}

TEST(ImageIndexTest, WithoutOciMediaTypesItIsADockerManifestList) {
  std::string json = IndexJson({Manifest("a", "amd64")}, /*oci_mediatypes=*/false);
  EXPECT_NE(
      json.find(R"("mediaType": "application/vnd.docker.distribution.manifest.list.v2+json")"),
      std::string::npos)
      << json;
}

TEST(PlatformRefsTest, FollowTheResultsPlatformListAndTakeEachConfig) {
  ExportRequest req;
  req.refs["linux/amd64"];
  req.refs["linux/arm64"];
  req.metadata["refs.platforms"] =
      registry::FormatExportPlatforms({{"linux/arm64", {"linux", "arm64", "", "", {}}},
                                       {"linux/amd64", {"linux", "amd64", "", "", {}}}});
  req.metadata["containerimage.config/linux/arm64"] = "arm-config";
  req.metadata["containerimage.config"] = "fallback";
  auto refs = PlatformRefs(req);
  ASSERT_TRUE(refs.ok()) << refs.status().message();
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].platform.id, "linux/arm64");
  EXPECT_EQ((*refs)[0].config, "arm-config");
  EXPECT_EQ((*refs)[1].platform.platform.architecture, "amd64");
  EXPECT_EQ((*refs)[1].config, "fallback");
  EXPECT_EQ(PlatformDirName("linux/arm/v7"), "linux_arm_v7");
}

TEST(PlatformRefsTest, APlatformWithoutARefIsAnError) {
  ExportRequest req;
  req.refs["linux/amd64"];
  req.metadata["refs.platforms"] =
      R"({"platforms":[{"id":"linux/s390x","platform":{"architecture":"s390x","os":"linux"}}]})";
  auto refs = PlatformRefs(req);
  ASSERT_FALSE(refs.ok());
  EXPECT_EQ(refs.status().message(), "failed to find ref for ID linux/s390x");
  req.metadata["refs.platforms"] = R"({"platforms":[{"id":"x"}]})";
  EXPECT_EQ(PlatformRefs(req).status().code(), Code::kInvalidArgument);
}

TEST(IndexJsonTest, IndexAnnotationsComeAfterTheManifests) {
  registry::Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  d.digest = Digest::FromBytes("m");
  d.size = 1;
  d.platform = registry::Platform{"linux", "amd64", "", "", {}};
  auto j = nlohmann::ordered_json::parse(IndexJson({d}, true, {{"z", "1"}, {"a", "2"}}));
  EXPECT_EQ(j.back(), nlohmann::ordered_json::parse(R"({"a":"2","z":"1"})"));
  EXPECT_FALSE(nlohmann::json::parse(IndexJson({d}, true)).contains("annotations"));
}

// A single-platform image's descriptor carries its platform, found as BuildKit finds it.
TEST(SinglePlatformTest, FromTheListThenTheConfigThenTheHost) {
  ExportRequest req;
  req.metadata["refs.platforms"] =
      R"({"platforms":[{"id":"linux/arm64","platform":{"architecture":"arm64","os":"linux"}}]})";
  auto p = SinglePlatform(req, R"({"os":"linux","architecture":"s390x"})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->String(), "linux/arm64");
  req.metadata["refs.platforms"] =
      R"({"platforms":[{"id":"linux/arm64","platform":{"architecture":"arm64","os":"linux"}},)"
      R"({"id":"linux/amd64","platform":{"architecture":"amd64","os":"linux"}}]})";
  EXPECT_EQ(SinglePlatform(req, "").status().message(),
            "cannot export multiple platforms without multi-platform enabled");

  req.metadata.clear();
  p = SinglePlatform(req, R"({"os":"linux","architecture":"arm","variant":"v7"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->String(), "linux/arm/v7");
  p = SinglePlatform(req, R"({"os":"linux","architecture":"aarch64"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->String(), "linux/arm64");
  EXPECT_EQ(SinglePlatform(req, R"({"os":"linux"})").status().message(),
            "invalid image config: os and architecture must be specified together");
  p = SinglePlatform(req, "");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, registry::HostPlatform());
  p = SinglePlatform(req, "{}");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, registry::HostPlatform());
}

}  // namespace
}  // namespace kiln::exporter
