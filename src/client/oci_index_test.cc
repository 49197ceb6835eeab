// The OCI layout files kilnctl writes after a tar=false oci/docker export (oci_index.h): the
// bytes of oci-layout and index.json, names as annotations, replaced and kept entries.

#include "client/oci_index.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "client/tree_merge.h"
#include "util/base64.h"

namespace kiln::client {
namespace {

using ::testing::HasSubstr;

constexpr char kDesc[] =
    R"({"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111",)"
    R"("size":482,"annotations":{"org.opencontainers.image.created":"2024-01-02T03:04:05Z"}})";
constexpr char kDescOut[] =
    R"({"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111",)"
    R"("size":482,"annotations":{)";
// Sorted among the names' annotations, as Go sorts map keys.
constexpr char kCreated[] = R"("org.opencontainers.image.created":"2024-01-02T03:04:05Z")";
constexpr char kIndexHead[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)";

std::string ReadFile(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

// An entry of another image, with its names.
std::string Other(char hex, const std::string& annotations) {
  return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
         std::string(64, hex) + R"(","size":7)" +
         (annotations.empty() ? "" : R"(,"annotations":{)" + annotations + "}") + "}";
}

class OciIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-ociindex-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { RemoveTree(dir_).IgnoreError(); }

  Status Update(std::map<std::string, std::string> resp) {
    resp["containerimage.descriptor"] = Base64Encode(kDesc);
    return UpdateOciLayout(dir_, resp);
  }
  std::string Index() { return ReadFile(dir_ + "/index.json"); }

  std::string dir_;
};

TEST_F(OciIndexTest, NewLayoutIsTaggedLatest) {
  Status st = Update({{"containerimage.digest", "sha256:1111"}});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ReadFile(dir_ + "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_EQ(Index(), std::string(kIndexHead) + kDescOut + kCreated +
                         R"(,"org.opencontainers.image.ref.name":"latest"}}]})");
  EXPECT_NE(access((dir_ + "/index.json.lock").c_str(), F_OK), 0);  // removed afterwards
}

TEST_F(OciIndexTest, EachImageNameIsAnEntryWithBothAnnotations) {
  ASSERT_TRUE(
      Update({{"image.name", "docker.io/library/app:1.0,localhost:5000/team/app@sha256:ab"}}).ok());
  EXPECT_EQ(Index(), std::string(kIndexHead) + kDescOut +
                         R"("io.containerd.image.name":"docker.io/library/app:1.0",)" + kCreated +
                         R"(,"org.opencontainers.image.ref.name":"1.0"}},)" + kDescOut +
                         R"("io.containerd.image.name":"localhost:5000/team/app@sha256:ab",)" +
                         kCreated + R"(,"org.opencontainers.image.ref.name":"@sha256:ab"}}]})");
}

TEST_F(OciIndexTest, SameNamesAreReplacedAndOtherEntriesKept) {
  std::ofstream(dir_ + "/index.json")
      << R"({"schemaVersion":2,"manifests":[)"
      << Other('a', R"("org.opencontainers.image.ref.name":"latest")") << ","
      << Other('b', R"("io.containerd.image.name":"docker.io/library/app:1.0",)"
                    R"("org.opencontainers.image.ref.name":"1.0")")
      << "," << Other('c', R"("org.opencontainers.image.ref.name":"1.0")")  // a tag, not that name
      << "," << Other('d', "") << "]}";
  ASSERT_TRUE(Update({{"image.name", "docker.io/library/app:1.0"}}).ok());
  EXPECT_EQ(Index(), std::string(kIndexHead) +
                         Other('a', R"("org.opencontainers.image.ref.name":"latest")") + "," +
                         Other('c', R"("org.opencontainers.image.ref.name":"1.0")") + "," +
                         Other('d', "") + "," + kDescOut +
                         R"("io.containerd.image.name":"docker.io/library/app:1.0",)" + kCreated +
                         R"(,"org.opencontainers.image.ref.name":"1.0"}}]})");

  // Without a name the tag "latest" replaces only the entry tagged latest without a name.
  ASSERT_TRUE(Update({}).ok());
  std::string index = Index();
  EXPECT_EQ(index.find(std::string(64, 'a')), std::string::npos);
  EXPECT_NE(index.find(std::string(64, 'c')), std::string::npos);
  EXPECT_THAT(index, HasSubstr(R"("io.containerd.image.name":"docker.io/library/app:1.0")"));
  EXPECT_THAT(index, HasSubstr(std::string(kDescOut) + kCreated +
                               R"(,"org.opencontainers.image.ref.name":"latest"}}]})"));
}

TEST_F(OciIndexTest, ExistingIndexIsRewrittenAsGoWritesIt) {
  std::ofstream(dir_ + "/index.json")
      << R"({"manifests":[{"size":7,"digest":"sha256:)" << std::string(64, 'e')
      << R"(","mediaType":"m","urls":[],"platform":{"os":"linux","architecture":"arm64",)"
      << R"("variant":"v8","extra":1},"annotations":{"z":"<&>","a":"1"}}],)"
      << R"("annotations":{"k":"v"},"unknown":true})";
  ASSERT_TRUE(Update({{"image.name", "docker.io/library/x:2"}}).ok());
  // What buildctl's ociindex writes for the same input (checked with Go 1.19's encoding/json).
  EXPECT_EQ(Index(), std::string(kIndexHead) + R"({"mediaType":"m","digest":"sha256:)" +
                         std::string(64, 'e') +
                         R"(","size":7,"annotations":{"a":"1","z":"\u003c\u0026\u003e"},)"
                         R"("platform":{"architecture":"arm64","os":"linux","variant":"v8"}},)" +
                         kDescOut + R"("io.containerd.image.name":"docker.io/library/x:2",)" +
                         kCreated +
                         R"(,"org.opencontainers.image.ref.name":"2"}}],"annotations":{"k":"v"}})");
}

TEST_F(OciIndexTest, MalformedIndexIsAnErrorNamingTheFile) {
  std::ofstream(dir_ + "/index.json") << R"({"manifests":{}})";
  Status st = Update({});
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("could not unmarshal " + dir_ + "/index.json"));
  EXPECT_EQ(ReadFile(dir_ + "/index.json"), R"({"manifests":{}})");
}

TEST_F(OciIndexTest, HeldLockIsAnError) {
  int fd = open((dir_ + "/index.json.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX), 0);
  Status st = Update({});
  close(fd);
  EXPECT_THAT(st.message(), HasSubstr("could not lock " + dir_ + "/index.json.lock"));
  EXPECT_NE(access((dir_ + "/index.json").c_str(), F_OK), 0);
}

TEST_F(OciIndexTest, NothingToDoWithoutADescriptor) {
  ASSERT_TRUE(UpdateOciLayout(dir_, {{"image.name", "x"}}).ok());
  EXPECT_NE(access((dir_ + "/oci-layout").c_str(), F_OK), 0);
  EXPECT_FALSE(UpdateOciLayout(dir_, {{"containerimage.descriptor", "!!"}}).ok());
}

TEST(OciReferenceNameTest, IsContainerdsReferenceObject) {
  EXPECT_EQ(OciReferenceName("docker.io/library/alpine:3.19"), "3.19");
  EXPECT_EQ(OciReferenceName("localhost:5000/a/b:tag"), "tag");
  EXPECT_EQ(OciReferenceName("docker.io/library/alpine@sha256:abc"), "@sha256:abc");
  EXPECT_EQ(OciReferenceName("docker.io/library/alpine:1@sha256:abc"), "1@sha256:abc");
  EXPECT_EQ(OciReferenceName("docker.io/library/alpine"), "");
  EXPECT_EQ(OciReferenceName("alpine"), "");                              // a host, no path
  EXPECT_EQ(OciReferenceName("alpine@sha256:abc"), "alpine@sha256:abc");  // bad port
  EXPECT_EQ(OciReferenceName("/no/host:1"), "/no/host:1");
  EXPECT_EQ(OciReferenceName("http://x/y:1"), "http://x/y:1");
  EXPECT_EQ(OciReferenceName("a b/c:1"), "a b/c:1");  // url.Parse: invalid host
  EXPECT_EQ(OciReferenceName("host:/x:1"), "1");
  EXPECT_EQ(OciReferenceName("[::1]:5000/x:2"), "2");
  EXPECT_EQ(OciReferenceName("a/b?x=1:2"), "");  // a query is not the path
  EXPECT_EQ(OciReferenceName(""), "");
}

}  // namespace
}  // namespace kiln::client
