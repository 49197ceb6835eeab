#include "registry/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::registry {
namespace {

using ::testing::HasSubstr;

const std::string kName = "docker.io/library/busybox:latest";
const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');
const std::string kD = "sha256:" + std::string(64, 'd');

// The shape of Docker Hub's busybox manifest list (digests shortened to letters).
const std::string kDockerList = R"({
  "manifests": [
    {"digest": ")" + kA + R"(", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "amd64", "os": "linux"}, "size": 528},
    {"digest": ")" + kB + R"(", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}, "size": 527},
    {"digest": ")" + kC + R"(", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}, "size": 527},
    {"digest": ")" + kD + R"(", "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}, "size": 527}
  ],
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "schemaVersion": 2
})";

const std::string kSchema2 = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1457,
             "digest": ")" + kA +
                             R"("},
  "layers": [
    {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2591575,
     "digest": ")" + kB + R"("},
    {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 10,
     "digest": ")" + kC + R"(", "urls": ["https://example.com/layer"]}
  ]
})";

// OCI manifest without the (optional) mediaType field, with annotations and a subject.
const std::string kOCINoType = R"({
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 7,
             "digest": ")" + kA +
                               R"("},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "size": 3,
              "digest": ")" + kB +
                               R"(", "annotations": {"org.example": "x"}}],
  "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 9,
              "digest": ")" + kC +
                               R"("},
  "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
})";

// OCI index without mediaType, with a BuildKit attestation manifest (unknown/unknown).
const std::string kOCIIndexNoType = R"({
  "schemaVersion": 2,
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": ")" +
                                    kA +
                                    R"(", "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 2, "digest": ")" +
                                    kB +
                                    R"(", "platform": {"architecture": "unknown", "os": "unknown"},
     "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
  ]
})";

const std::string kSchema1 = R"({
  "schemaVersion": 1, "name": "library/busybox", "tag": "latest", "architecture": "amd64",
  "fsLayers": [{"blobSum": ")" +
                             kA + R"("}], "history": [{"v1Compatibility": "{}"}]
})";

TEST(ManifestTest, ParsesDockerManifestList) {
  auto idx = ParseIndex(kDockerList, "", kName);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  EXPECT_EQ(idx->media_type, media_types::kDockerManifestList);
  ASSERT_EQ(idx->manifests.size(), 4u);
  EXPECT_EQ(idx->manifests[1].digest.str(), kB);
  EXPECT_EQ(idx->manifests[1].size, 527);
  ASSERT_TRUE(idx->manifests[1].platform.has_value());
  EXPECT_EQ(idx->manifests[1].platform->String(), "linux/arm/v6");
}

TEST(ManifestTest, ParsesDockerSchema2Manifest) {
  auto m = ParseManifest(kSchema2, "", kName);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kDockerManifest);
  EXPECT_EQ(m->config.media_type, media_types::kDockerConfig);
  EXPECT_EQ(m->config.digest.str(), kA);
  EXPECT_EQ(m->config.size, 1457);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].size, 2591575);
  EXPECT_EQ(m->layers[1].urls, std::vector<std::string>{"https://example.com/layer"});
}

TEST(ManifestTest, InfersOCITypesWhenMediaTypeIsAbsent) {
  auto m = ParseManifest(kOCINoType, "", kName);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media_types::kOCIManifest);
  EXPECT_EQ(m->layers[0].annotations.at("org.example"), "x");
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->digest.str(), kC);
  EXPECT_EQ(m->annotations.size(), 1u);

  auto idx = ParseIndex(kOCIIndexNoType, "", kName);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  EXPECT_EQ(idx->media_type, media_types::kOCIIndex);
}

TEST(ManifestTest, TypeComesFromTheHintWhenTheDocumentHasNone) {
  const std::pair<std::string, std::string> cases[] = {
      {"application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
       std::string(media_types::kDockerManifest)},
      {"application/vnd.oci.image.manifest.v1+json", std::string(media_types::kOCIManifest)},
      {"application/json", std::string(media_types::kOCIManifest)},
      {"", std::string(media_types::kOCIManifest)},
  };
  for (const auto& [hint, want] : cases) {
    SCOPED_TRACE(hint);
    auto t = DetectManifestType(kOCINoType, hint, kName);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, want);
  }
  // The document's own field wins over the hint.
  EXPECT_EQ(*DetectManifestType(kDockerList, media_types::kOCIManifest, kName),
            media_types::kDockerManifestList);
  EXPECT_EQ(*DetectManifestType(kOCIIndexNoType, "", kName), media_types::kOCIIndex);
}

TEST(ManifestTest, RejectsSchema1AsUnimplemented) {
  for (const auto& [doc, hint] : std::vector<std::pair<std::string, std::string>>{
           {kSchema1, ""},
           {kSchema1, std::string(media_types::kDockerSchema1Signed)},
           {R"({"schemaVersion": 2, "mediaType": ")" + std::string(media_types::kDockerSchema1) +
                R"("})",
            ""}}) {
    auto m = ParseManifest(doc, hint, kName);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), Code::kUnimplemented);
    EXPECT_THAT(m.status().message(), HasSubstr(kName));
    EXPECT_THAT(m.status().message(), HasSubstr("schema 1"));
  }
}

TEST(ManifestTest, ValidationErrorsNameTheImageAndTheField) {
  auto with = [](std::string from, std::string to) {
    std::string s = kSchema2;
    size_t at = s.find(from);
    KILN_CHECK(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "invalid JSON"},
      {"[]", "want a JSON object"},
      {R"({"schemaVersion": 3, "layers": []})", "schemaVersion: want 2"},
      {R"({"layers": []})", "schemaVersion: missing"},
      {R"({"schemaVersion": 2})", "neither an image manifest nor an index"},
      {with(R"("size": 2591575)", R"("size": "big")"), "layers[0].size: want an integer"},
      {with(R"("size": 2591575)", R"("size": -1)"), "layers[0].size: negative"},
      {with(R"("size": 1457,)", ""), "config.size: missing"},
      {with(kB, "sha256:xyz"), "layers[0].digest: invalid digest"},
      {with(R"("urls": ["https://example.com/layer"])", R"("urls": "x")"),
       "layers[1].urls: want a list of strings"},
      {with(R"("layers": [)", R"("layers": 5, "x": [)"), "layers: want a list"},
  };
  for (const auto& [doc, why] : cases) {
    SCOPED_TRACE(doc.substr(0, 60));
    auto m = ParseManifest(doc, "", kName);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr(kName));
    EXPECT_THAT(m.status().message(), HasSubstr(why));
  }
  auto other_algo = ParseManifest(with(kB, "sha512:abc"), "", kName);
  EXPECT_EQ(other_algo.status().code(), Code::kUnimplemented);
}

TEST(ManifestTest, KindMismatchIsAnError) {
  auto m = ParseManifest(kDockerList, "", kName);
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("is not an image manifest"));
  auto i = ParseIndex(kSchema2, "", kName);
  EXPECT_THAT(i.status().message(), HasSubstr("is not an index"));
}

Platform P(std::string os, std::string arch, std::string variant = "") {
  Platform p;
  p.os = std::move(os);
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

TEST(ManifestTest, SelectsTheManifestForAPlatform) {
  Index idx = *ParseIndex(kDockerList, "", kName);
  const std::pair<Platform, std::string> cases[] = {
      {P("linux", "amd64"), kA},       {P("linux", "x86_64"), kA},  {P("linux", "arm", "v6"), kB},
      {P("linux", "arm", "v7"), kC},   {P("linux", "arm"), kC},     {P("linux", "arm64"), kD},
      {P("linux", "arm64", "v8"), kD}, {P("linux", "aarch64"), kD},
  };
  for (const auto& [want, digest] : cases) {
    SCOPED_TRACE(want.String());
    auto d = SelectManifest(idx, want, kName);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->digest.str(), digest);
  }
}

TEST(ManifestTest, SelectionFallsBackToCompatibleVariants) {
  Index idx = *ParseIndex(kDockerList, "", kName);
  idx.manifests.erase(idx.manifests.begin() + 2);  // no arm/v7 any more
  EXPECT_EQ(SelectManifest(idx, P("linux", "arm", "v7"), kName)->digest.str(), kB);  // v6
  idx.manifests.erase(idx.manifests.begin() + 2);  // no arm64 any more
  EXPECT_EQ(SelectManifest(idx, P("linux", "arm64"), kName)->digest.str(), kB);  // arm/v6
}

TEST(ManifestTest, NoMatchNamesThePlatformAndWhatThereIs) {
  Index idx = *ParseIndex(kOCIIndexNoType, "", kName);
  auto d = SelectManifest(idx, P("linux", "s390x"), kName);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kNotFound);
  EXPECT_THAT(d.status().message(), HasSubstr(kName));
  EXPECT_THAT(d.status().message(), HasSubstr("linux/s390x"));
  EXPECT_THAT(d.status().message(), HasSubstr("linux/amd64"));
  EXPECT_THAT(d.status().message(), ::testing::Not(HasSubstr("unknown")));
}

}  // namespace
}  // namespace kiln::registry
