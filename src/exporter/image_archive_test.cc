#include "exporter/image_archive.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "exporter/testing/image_testing.h"

namespace kiln::exporter {
namespace {

using nlohmann::json;
using registry::Descriptor;
using testing::BlobName;
using testing::Docker;
using testing::Find;
using testing::ImageArchiveTest;
using testing::Names;
using testing::OCI;
using testing::ReadFile;
using testing::ReadTar;
using testing::TarEntry;
using testing::TestImage;
using testing::WriteFile;
namespace mt = registry::media_types;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::kiln::Status s_ = (expr);                             \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)

// --- the OCI layout ---

TEST_F(ImageArchiveTest, OCIArchiveHoldsLayoutIndexAndEveryBlobSortedByName) {
  TestImage img = Simple();
  auto tar = Archive(img.manifest, OCI({"docker.io/library/foo:latest"}));
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  std::vector<TarEntry> entries = ReadTar(*tar);

  std::vector<std::string> blobs = {BlobName(img.manifest.digest), BlobName(img.config.digest),
                                    BlobName(img.layers[0].digest), BlobName(img.layers[1].digest)};
  std::sort(blobs.begin(), blobs.end());
  std::vector<std::string> want = {"blobs/", "blobs/sha256/"};
  want.insert(want.end(), blobs.begin(), blobs.end());
  want.insert(want.end(), {"index.json", "oci-layout"});
  EXPECT_EQ(Names(entries), want);

  EXPECT_EQ(Find(entries, "oci-layout")->data, R"({"imageLayoutVersion":"1.0.0"})");
  for (const Descriptor& d : {img.manifest, img.config, img.layers[0], img.layers[1]}) {
    EXPECT_EQ(Find(entries, BlobName(d.digest))->data, Blob(d)) << d.digest.str();
  }
  EXPECT_EQ(Find(entries, "index.json")->data,
            R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
            R"("manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("digest":")" +
                img.manifest.digest.str() + R"(","size":)" + std::to_string(img.manifest.size) +
                R"(,"annotations":{"io.containerd.image.name":"docker.io/library/foo:latest",)"
                R"("org.opencontainers.image.ref.name":"latest"}}]})");
}

TEST_F(ImageArchiveTest, HeadersAreFixedAsContainerdWritesThem) {
  auto tar = Archive(Simple().manifest, OCI());
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  for (const TarEntry& e : ReadTar(*tar)) {
    SCOPED_TRACE(e.name);
    EXPECT_EQ(e.uid, 0u);
    EXPECT_EQ(e.gid, 0u);
    EXPECT_EQ(e.uname, "");
    EXPECT_EQ(e.mtime, 0);
    if (e.name.ends_with("/")) {
      EXPECT_EQ(e.type, '5');
      EXPECT_EQ(e.mode, 0755u);
    } else {
      EXPECT_EQ(e.type, '0');
      EXPECT_EQ(e.mode, e.name == "index.json" ? 0644u : 0444u);
    }
  }
}

TEST_F(ImageArchiveTest, SameImageGivesIdenticalBytes) {
  TestImage img = Simple();
  auto a = Archive(img.manifest, Docker({"foo:1", "bar"}));
  auto b = Archive(img.manifest, Docker({"foo:1", "bar"}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size() % 512, 0u);
}

TEST_F(ImageArchiveTest, EachNameIsAnIndexEntryWithNormalisedNameAndTag) {
  TestImage img = Simple();
  img.manifest.annotations["org.opencontainers.image.created"] = "2024-01-01T00:00:00Z";
  auto tar = Archive(img.manifest, OCI({"foo", "ghcr.io/acme/app:1.0",
                                        "localhost:5000/x@sha256:" + std::string(64, 'a')}));
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  json index = json::parse(Find(ReadTar(*tar), "index.json")->data);
  ASSERT_EQ(index["manifests"].size(), 3u);
  std::vector<std::pair<std::string, std::string>> want = {
      {"docker.io/library/foo:latest", "latest"},
      {"ghcr.io/acme/app:1.0", "1.0"},
      {"localhost:5000/x@sha256:" + std::string(64, 'a'),
       "localhost:5000/x@sha256:" + std::string(64, 'a')}};
  for (size_t i = 0; i < want.size(); i++) {
    const json& m = index["manifests"][i];
    EXPECT_EQ(m["digest"], img.manifest.digest.str());
    EXPECT_EQ(m["annotations"]["io.containerd.image.name"], want[i].first);
    EXPECT_EQ(m["annotations"]["org.opencontainers.image.ref.name"], want[i].second);
    EXPECT_EQ(m["annotations"]["org.opencontainers.image.created"], "2024-01-01T00:00:00Z");
  }
}

TEST_F(ImageArchiveTest, WithoutNamesTheRootIsWrittenAsGiven) {
  TestImage img = Simple();
  auto tar = Archive(img.manifest, OCI());
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  json index = json::parse(Find(ReadTar(*tar), "index.json")->data);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0], json({{"mediaType", mt::kOCIManifest},
                                         {"digest", img.manifest.digest.str()},
                                         {"size", img.manifest.size}}));
}

TEST_F(ImageArchiveTest, InvalidNameIsRefusedBeforeAnyByte) {
  std::string out;
  Status s = WriteImageArchive(ctx_, *store_, Simple().manifest, OCI({"Bad Name"}),
                               [&](std::string_view d) {
                                 out.append(d);
                                 return Status::Ok();
                               });
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("Bad Name"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
}

// --- the Docker tarball ---

TEST_F(ImageArchiveTest, DockerArchiveAddsManifestJsonAndRepositories) {
  TestImage img = Simple();
  auto tar = Archive(img.manifest, Docker({"docker.io/library/busybox:latest", "ghcr.io/a/b:2"}));
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  std::vector<TarEntry> entries = ReadTar(*tar);
  std::vector<std::string> names = Names(entries);
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(
      std::vector<std::string>(names.end() - 4, names.end()),
      (std::vector<std::string>{"index.json", "manifest.json", "oci-layout", "repositories"}));

  EXPECT_EQ(Find(entries, "manifest.json")->data,
            R"([{"Config":")" + BlobName(img.config.digest) +
                R"(","RepoTags":["busybox:latest","ghcr.io/a/b:2"],"Layers":[")" +
                BlobName(img.layers[0].digest) + R"(",")" + BlobName(img.layers[1].digest) +
                R"("]}])");
  std::string top(img.layers[1].digest.hex());
  EXPECT_EQ(Find(entries, "repositories")->data,
            R"({"busybox":{"latest":")" + top + R"("},"ghcr.io/a/b":{"2":")" + top + R"("}})");
  EXPECT_EQ(Find(entries, "manifest.json")->mode, 0644u);
}

TEST_F(ImageArchiveTest, DockerArchiveWithoutNamesHasNullRepoTagsAndNoRepositories) {
  TestImage img = Simple();
  auto tar = Archive(img.manifest, Docker());
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  std::vector<TarEntry> entries = ReadTar(*tar);
  json m = json::parse(Find(entries, "manifest.json")->data);
  EXPECT_TRUE(m[0]["RepoTags"].is_null());
  EXPECT_EQ(Find(entries, "repositories"), nullptr);
}

// --- indexes ---

TEST_F(ImageArchiveTest, IndexWithTwoPlatformsHoldsEveryBlobOnce) {
  TestImage amd64, arm64;
  Descriptor index = TwoPlatformIndex(&amd64, &arm64);
  ASSERT_EQ(amd64.layers[0].digest, arm64.layers[0].digest);
  auto tar = Archive(index, OCI({"multi:1"}));
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  std::vector<TarEntry> entries = ReadTar(*tar);

  std::set<std::string> want = {BlobName(index.digest)};
  for (const TestImage* img : {&amd64, &arm64}) {
    want.insert(BlobName(img->manifest.digest));
    want.insert(BlobName(img->config.digest));
    for (const auto& l : img->layers) {
      want.insert(BlobName(l.digest));
    }
  }
  std::vector<std::string> blobs;
  for (const auto& e : entries) {
    if (e.name.starts_with("blobs/sha256/") && e.name.size() > 13) {
      blobs.push_back(e.name);
    }
  }
  EXPECT_EQ(blobs, std::vector<std::string>(want.begin(), want.end()));  // sorted, once each
  json idx = json::parse(Find(entries, "index.json")->data);
  ASSERT_EQ(idx["manifests"].size(), 1u);
  EXPECT_EQ(idx["manifests"][0]["mediaType"], mt::kOCIIndex);
  EXPECT_EQ(idx["manifests"][0]["digest"], index.digest.str());
}

TEST_F(ImageArchiveTest, DockerArchiveOfIndexDescribesTheChosenPlatform) {
  TestImage amd64, arm64;
  Descriptor index = TwoPlatformIndex(&amd64, &arm64);

  // As containerd does for BuildKit: no platform, no manifest.json.
  auto plain = Archive(index, Docker({"multi:1"}));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(Find(ReadTar(*plain), "manifest.json"), nullptr);

  ArchiveOptions opts = Docker({"multi:1"});
  opts.platform = registry::Platform{"linux", "arm64", "", "", {}};
  auto tar = Archive(index, opts);
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  std::vector<TarEntry> entries = ReadTar(*tar);
  json m = json::parse(Find(entries, "manifest.json")->data);
  EXPECT_EQ(m[0]["Config"], BlobName(arm64.config.digest));
  EXPECT_EQ(m[0]["RepoTags"], json({"multi:1"}));
  EXPECT_NE(Find(entries, BlobName(amd64.config.digest)), nullptr);  // all platforms kept
}

// --- errors ---

TEST_F(ImageArchiveTest, MissingLayerIsNotFoundNamingItAndItsManifest) {
  TestImage img = Simple();
  ASSERT_EQ(::unlink(store_->Path(img.layers[1].digest).c_str()), 0);
  std::string out;
  Status s = WriteImageArchive(ctx_, *store_, img.manifest, OCI(), [&](std::string_view d) {
    out.append(d);
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find(img.layers[1].digest.str()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("layer 2 of manifest " + img.manifest.digest.str()), std::string::npos)
      << s.message();
  EXPECT_TRUE(out.empty()) << "nothing is written for an incomplete image";
}

TEST_F(ImageArchiveTest, MissingPlatformManifestNamesTheIndex) {
  TestImage amd64, arm64;
  Descriptor index = TwoPlatformIndex(&amd64, &arm64);
  ASSERT_EQ(::unlink(store_->Path(arm64.manifest.digest).c_str()), 0);
  auto tar = Archive(index, OCI());
  ASSERT_FALSE(tar.ok());
  EXPECT_EQ(tar.status().code(), Code::kNotFound);
  EXPECT_NE(tar.status().message().find("manifest 2 of index " + index.digest.str()),
            std::string::npos)
      << tar.status().message();
}

TEST_F(ImageArchiveTest, UnparsableManifestIsNamed) {
  Descriptor bad = Put(R"({"schemaVersion":2,"config":"nope"})", mt::kOCIManifest);
  auto tar = Archive(bad, OCI());
  ASSERT_FALSE(tar.ok());
  EXPECT_EQ(tar.status().code(), Code::kInvalidArgument) << tar.status().ToString();
  EXPECT_NE(tar.status().message().find(bad.digest.str()), std::string::npos)
      << tar.status().message();
}

TEST_F(ImageArchiveTest, SizeMismatchIsDataLoss) {
  TestImage img = Simple();
  img.manifest.size += 1;
  auto tar = Archive(img.manifest, OCI());
  ASSERT_FALSE(tar.ok());
  EXPECT_EQ(tar.status().code(), Code::kDataLoss) << tar.status().ToString();
}

TEST_F(ImageArchiveTest, CorruptBlobInTheStoreIsDataLoss) {
  TestImage img = Simple();
  std::string path = store_->Path(img.config.digest);
  std::string bytes = ReadFile(path);
  bytes[0] = bytes[0] == '{' ? '[' : '{';  // same size, other bytes
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  WriteFile(path, bytes);
  auto tar = Archive(img.manifest, OCI());
  ASSERT_FALSE(tar.ok());
  EXPECT_EQ(tar.status().code(), Code::kDataLoss) << tar.status().ToString();
  EXPECT_NE(tar.status().message().find(img.config.digest.str()), std::string::npos);
}

TEST_F(ImageArchiveTest, NonImageRootIsInvalidArgument) {
  TestImage img = Simple();
  auto tar = Archive(img.config, OCI());
  ASSERT_FALSE(tar.ok());
  EXPECT_EQ(tar.status().code(), Code::kInvalidArgument) << tar.status().ToString();
}

// --- the layout directory ---

TEST_F(ImageArchiveTest, LayoutDirHoldsTheArchiveFiles) {
  TestImage img = Simple();
  auto tar = Archive(img.manifest, OCI({"foo:1"}));
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  std::string dir = tmp_.Sub("layout");
  ASSERT_OK(WriteOCILayoutDir(ctx_, *store_, img.manifest, OCI({"foo:1"}), dir));
  ASSERT_OK(WriteOCILayoutDir(ctx_, *store_, img.manifest, OCI({"foo:1"}), dir));  // again
  for (const TarEntry& e : ReadTar(*tar)) {
    SCOPED_TRACE(e.name);
    struct stat st {};
    ASSERT_EQ(::lstat((dir + "/" + e.name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, e.mode);
    if (e.type == '0') {
      EXPECT_EQ(ReadFile(dir + "/" + e.name), e.data);
    } else {
      EXPECT_TRUE(S_ISDIR(st.st_mode));
    }
  }
}

}  // namespace
}  // namespace kiln::exporter
