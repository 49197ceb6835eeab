// docker-image:// sources against Debian's docker-registry on 127.0.0.1 (tests/fixtures): the
// unpacked root filesystems byte for byte, layer escapes and wrong diff IDs refused, concurrent
// pulls fetching each blob once, and errors a user can act on.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "harness.h"
#include "llb/builder.h"
#include "registry_fixture.h"
#include "util/digest.h"

namespace kiln::itest {
namespace {

std::string ImageDefinition(const std::string& ref, const std::string& platform = "") {
  auto def = llb::State::Image(ref, platform).Marshal();
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  return def.ok() ? def->SerializeAsString() : "";
}

std::string TypeOf(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "dir";
  if (S_ISREG(st.st_mode)) return "file";
  if (S_ISLNK(st.st_mode)) return "symlink";
  if (S_ISFIFO(st.st_mode)) return "fifo";
  if (S_ISCHR(st.st_mode)) return "char";
  if (S_ISBLK(st.st_mode)) return "block";
  return "other";
}

// Checks the tree at `root` against a fixture's `files` description; returns the mismatches.
std::vector<std::string> CompareTree(const std::string& root, const nlohmann::json& files) {
  std::vector<std::string> bad;
  for (auto it = files.begin(); it != files.end(); ++it) {
    const std::string path = root + it.key();
    const nlohmann::json& want = it.value();
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      bad.push_back(it.key() + ": missing");
      continue;
    }
    auto num = [&](const char* k) { return JsonAt(want, {k}).is_number() ? JsonAt(want, {k}).get<int64_t>() : -1; };
    if (TypeOf(st) != JsonStr(JsonAt(want, {"type"}))) bad.push_back(it.key() + ": type " + TypeOf(st));
    if (num("uid") != st.st_uid || num("gid") != st.st_gid) bad.push_back(it.key() + ": owner");
    if (!S_ISLNK(st.st_mode) && num("mode") != (st.st_mode & 07777)) {
      bad.push_back(it.key() + ": mode " + std::to_string(st.st_mode & 07777));
    }
    if (S_ISREG(st.st_mode)) {
      std::string data = ReadFile(path);
      if (Digest::FromBytes(data).hex() != JsonStr(JsonAt(want, {"sha256"}))) {
        bad.push_back(it.key() + ": content");
      }
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
      if (n < 0 || std::string(buf, n) != JsonStr(JsonAt(want, {"target"}))) {
        bad.push_back(it.key() + ": link target");
      }
    }
    const nlohmann::json& xattrs = JsonAt(want, {"xattrs"});
    if (xattrs.is_object()) {
      for (auto x = xattrs.begin(); x != xattrs.end(); ++x) {
        char buf[1024];
        ssize_t n = lgetxattr(path.c_str(), x.key().c_str(), buf, sizeof(buf));
        if (n < 0 || std::string(buf, n) != JsonStr(x.value())) bad.push_back(it.key() + ": xattr " + x.key());
      }
    }
  }
  return bad;
}

class ImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new RegistryFixture();
    ASSERT_TRUE(registry_->Start(RegistryMode::kPlain)) << registry_->error();
    images_ = new nlohmann::json(registry_->PushFixtureImages());
    ASSERT_FALSE(images_->is_discarded()) << registry_->error();
  }
  static void TearDownTestSuite() {
    delete images_;
    delete registry_;
  }

  void SetUp() override {
    ASSERT_NE(registry_, nullptr);
    ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
    out_ = MakeTempDir("kiln-image-out");
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
    std::filesystem::remove_all(out_);
  }

  std::string Ref(const std::string& image) const {
    return registry_->host() + "/" + image + ":latest";
  }
  // Builds the image's root filesystem to `out`, through the tar exporter (the local exporter
  // gives files to the client's user, as BuildKit's does; the tar keeps owners and xattrs).
  RunResult BuildImage(const std::string& image, const std::string& out,
                       const std::string& platform = "") {
    std::string tar = out + ".tar";
    RunResult r = daemon_.Kilnctl({"build", "--progress=plain", "--output", "type=tar,dest=" + tar},
                                  ImageDefinition(Ref(image), platform));
    if (r.exit_code != 0) return r;
    std::filesystem::create_directories(out);
    RunResult x = itest::Run({"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", tar,
                       "-C", out});
    if (x.exit_code != 0) return x;
    return r;
  }
  const nlohmann::json& Image(const std::string& name) { return JsonAt(*images_, {"images", name}); }

  static RegistryFixture* registry_;
  static nlohmann::json* images_;
  Daemon daemon_;
  std::string out_;
};

RegistryFixture* ImageTest::registry_ = nullptr;
nlohmann::json* ImageTest::images_ = nullptr;

TEST_F(ImageTest, PulledImagesHaveTheExpectedFiles) {
  for (const std::string name : {"busybox", "layers", "zstd", "docker"}) {
    std::string out = out_ + "/" + name;
    auto r = BuildImage(name, out);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    auto bad = CompareTree(out, JsonAt(Image(name), {"files"}));
    EXPECT_TRUE(bad.empty()) << name << ": " << ::testing::PrintToString(bad);
    const nlohmann::json& absent = JsonAt(Image(name), {"absent"});
    for (size_t i = 0; absent.is_array() && i < absent.size(); i++) {
      std::string p = out + JsonStr(absent[i]);
      struct stat st;
      EXPECT_NE(lstat(p.c_str(), &st), 0) << name << ": " << JsonStr(absent[i]) << " should be gone";
    }
  }
  // Hardlinks across layers stay hardlinks after unpacking (checked in the daemon's snapshots
  // indirectly: the exported files have the same content, above).
}

TEST_F(ImageTest, IndexesGiveTheManifestOfTheAskedPlatform) {
  const nlohmann::json& platforms = JsonAt(Image("multi"), {"platforms"});
  ASSERT_TRUE(platforms.is_array());
  for (size_t i = 0; i < platforms.size(); i++) {
    std::string platform = JsonStr(JsonAt(platforms, {i, "platform"}));
    std::string out = out_ + "/p" + std::to_string(i);
    auto r = BuildImage("multi", out, platform);
    ASSERT_EQ(r.exit_code, 0) << platform << ": " << r.err;
    auto bad = CompareTree(out, JsonAt(platforms, {i, "files"}));
    EXPECT_TRUE(bad.empty()) << platform << ": " << ::testing::PrintToString(bad);
  }
  auto r = BuildImage("multi", out_ + "/none", "linux/s390x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("linux/s390x"), std::string::npos) << r.err;
}

// oci-layout:// sources from a raw definition: the fixture images' OCI layouts, served by
// kilnctl --oci-layout (the store "oci:fixture" of its session), give the same trees as the
// registry, an index its platform's manifest; a store the client does not serve is an error
// naming it.
TEST_F(ImageTest, OCILayoutSourcesReadTheClientsLayout) {
  struct Want {
    std::string image, platform;
    nlohmann::json files;
  };
  std::vector<Want> wants = {{"busybox", "", JsonAt(Image("busybox"), {"files"})},
                             {"layers", "", JsonAt(Image("layers"), {"files"})}};
  const nlohmann::json& platforms = JsonAt(Image("multi"), {"platforms"});
  for (size_t i = 0; platforms.is_array() && i < platforms.size(); i++) {
    wants.push_back(
        {"multi", JsonStr(JsonAt(platforms, {i, "platform"})), JsonAt(platforms, {i, "files"})});
  }
  for (size_t i = 0; i < wants.size(); i++) {
    const Want& w = wants[i];
    SCOPED_TRACE(w.image + " " + w.platform);
    std::string layout = JsonStr(JsonAt(Image(w.image), {"layout"}));
    std::string digest = JsonStr(JsonAt(Image(w.image), {"digest"}));
    ASSERT_FALSE(layout.empty() || digest.empty()) << Image(w.image).dump();
    auto def = llb::State::Source("oci-layout://example.com/not/real@" + digest,
                                  {{"oci.store", "fixture"}})
                   .WithPlatform(w.platform)
                   .Marshal();
    ASSERT_TRUE(def.ok());
    std::string out = out_ + "/oci" + std::to_string(i);
    RunResult r = daemon_.Kilnctl({"build", "--progress=plain", "--oci-layout", "fixture=" + layout,
                                   "--output", "type=tar,dest=" + out + ".tar"},
                                  def->SerializeAsString());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::filesystem::create_directories(out);
    RunResult x = itest::Run({"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf",
                              out + ".tar", "-C", out});
    ASSERT_EQ(x.exit_code, 0) << x.err;
    auto bad = CompareTree(out, w.files);
    EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
  }

  std::string digest = JsonStr(JsonAt(Image("busybox"), {"digest"}));
  auto def = llb::State::Source("oci-layout://x@" + digest, {{"oci.store", "elsewhere"}}).Marshal();
  ASSERT_TRUE(def.ok());
  RunResult r = daemon_.Kilnctl({"build", "--progress=plain", "--oci-layout",
                                 "fixture=" + JsonStr(JsonAt(Image("busybox"), {"layout"})),
                                 "--output", "type=tar,dest=" + out_ + "/err.tar"},
                                def->SerializeAsString());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown store oci:elsewhere"), std::string::npos) << r.err;
  auto nodigest = llb::State::Source("oci-layout://x:latest", {{"oci.store", "fixture"}}).Marshal();
  ASSERT_TRUE(nodigest.ok());
  r = daemon_.Kilnctl({"build", "--progress=plain", "--output", "type=tar,dest=" + out_ + "/e.tar"},
                      nodigest->SerializeAsString());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("reference \"x:latest\" must have digest"), std::string::npos) << r.err;
}

TEST_F(ImageTest, LayersThatEscapeAreRefusedAndWriteNothingOutside) {
  for (const std::string name : {"evil-dotdot", "evil-symlink", "evil-abs", "evil-hardlink"}) {
    const nlohmann::json& img = Image(name);
    std::string sentinel = JsonStr(JsonAt(img, {"sentinel"}));
    if (!sentinel.empty()) WriteFile(sentinel, "sentinel\n");
    auto r = BuildImage(name, out_ + "/" + name);
    if (name == "evil-dotdot") {
      EXPECT_NE(r.exit_code, 0);
      EXPECT_NE(r.err.find("layer entry \"../"), std::string::npos) << r.err;
    }
    if (name == "evil-symlink") {
      EXPECT_NE(r.exit_code, 0);
      EXPECT_NE(r.err.find("points outside the snapshot"), std::string::npos) << r.err;
    }
    const nlohmann::json& outside = JsonAt(img, {"outside"});
    for (size_t i = 0; outside.is_array() && i < outside.size(); i++) {
      struct stat st;
      EXPECT_NE(lstat(JsonStr(outside[i]).c_str(), &st), 0) << name << " wrote " << JsonStr(outside[i]);
    }
    if (!sentinel.empty()) {
      EXPECT_EQ(ReadFile(sentinel), "sentinel\n") << name;
      unlink(sentinel.c_str());
    }
  }
  // kilnd keeps serving.
  EXPECT_EQ(daemon_.Kilnctl({"debug", "workers"}).exit_code, 0);
}

// baddiffid's config claims busybox's layer diff ID for a layer of its own: unpacked unchecked,
// that layer would be filed under busybox's chain ID and served to every busybox build.
TEST_F(ImageTest, ALayerThatIsNotTheConfigsDiffIdIsRefusedAndPoisonsNothing) {
  const nlohmann::json& img = Image("baddiffid");
  const std::string want =
      Ref("baddiffid") + ": layer " + JsonStr(JsonAt(img, {"layers", 0, "digest"})) +
      ": wrong diff ID: the image config says " + JsonStr(JsonAt(img, {"layers", 0, "diff_id"})) +
      ", the layer's content is " + JsonStr(JsonAt(img, {"true_diff_ids", 0}));
  ASSERT_EQ(JsonStr(JsonAt(img, {"layers", 0, "diff_id"})),
            JsonStr(JsonAt(Image("busybox"), {"layers", 0, "diff_id"})));
  for (int i = 0; i < 2; i++) {  // nothing of the first attempt is cached for the second
    auto r = BuildImage("baddiffid", out_ + "/bad" + std::to_string(i));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
  }
  std::string out = out_ + "/busybox";
  auto r = BuildImage("busybox", out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto bad = CompareTree(out, JsonAt(Image("busybox"), {"files"}));
  EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
  struct stat st;
  EXPECT_NE(lstat((out + "/ok.txt").c_str(), &st), 0) << "busybox got baddiffid's layer";
  EXPECT_EQ(daemon_.Kilnctl({"debug", "workers"}).exit_code, 0);
}

TEST_F(ImageTest, ConcurrentBuildsFetchEachBlobOnceAndUnpackEachLayerOnce) {
  const std::string name = "layers";
  const nlohmann::json& layers = JsonAt(Image(name), {"layers"});
  ASSERT_TRUE(layers.is_array());
  std::set<std::string> blobs = {JsonStr(JsonAt(Image(name), {"config", "digest"}))};
  for (size_t i = 0; i < layers.size(); i++) blobs.insert(JsonStr(JsonAt(layers, {i, "digest"})));
  int before = registry_->CountRequests("GET", "/v2/" + name + "/blobs/");
  std::vector<std::future<RunResult>> builds;
  for (int i = 0; i < 20; i++) {
    builds.push_back(std::async(std::launch::async, [&, i] {
      return BuildImage(name, out_ + "/c" + std::to_string(i));
    }));
  }
  for (auto& b : builds) {
    auto r = b.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  int fetched = registry_->CountRequests("GET", "/v2/" + name + "/blobs/") - before;
  EXPECT_EQ(fetched, static_cast<int>(blobs.size()));
  std::string log = daemon_.Log();
  int unpacked = 0;
  for (size_t p = log.find("unpacked layer"); p != std::string::npos; p = log.find("unpacked layer", p + 1)) {
    unpacked++;
  }
  EXPECT_EQ(unpacked, static_cast<int>(layers.size()));
}

TEST_F(ImageTest, PruneReclaimsTheUnpackedLayersAndTheirBlobs) {
  ASSERT_EQ(BuildImage("layers", out_ + "/l").exit_code, 0);
  auto blobs = [&] {
    int n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             daemon_.root() + "/worker/content/blobs", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) n++;
    }
    return n;
  };
  EXPECT_GT(blobs(), 0);
  auto r = daemon_.Kilnctl({"prune", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(blobs(), 0);
  // And the image is pulled again from the registry afterwards.
  int before = registry_->CountRequests("GET", "/v2/layers/blobs/");
  ASSERT_EQ(BuildImage("layers", out_ + "/l2").exit_code, 0);
  EXPECT_GT(registry_->CountRequests("GET", "/v2/layers/blobs/"), before);
}

TEST_F(ImageTest, ErrorsNameTheImageAndKilndKeepsServing) {
  auto r = daemon_.Kilnctl({"build", "--progress=plain"},
                           ImageDefinition(registry_->host() + "/busybox:no-such-tag"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("busybox:no-such-tag"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;

  // A registry that is down: a port nothing listens on.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string down = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  close(fd);
  r = daemon_.Kilnctl({"build", "--progress=plain"}, ImageDefinition(down + "/busybox:latest"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(down), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_EQ(daemon_.Kilnctl({"debug", "workers"}).exit_code, 0);
}

TEST_F(ImageTest, ASecondBuildIsCachedAndSurvivesARestart) {
  ASSERT_EQ(BuildImage("busybox", out_ + "/a").exit_code, 0);
  int before = registry_->CountRequests("GET", "/v2/busybox/blobs/");
  auto r = daemon_.Kilnctl({"build", "--progress=rawjson"}, ImageDefinition(Ref("busybox")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [name, v] : ParseRawJson(r.out)) EXPECT_TRUE(v.cached) << name;
  daemon_.Stop();
  ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
  r = daemon_.Kilnctl({"build", "--progress=rawjson"}, ImageDefinition(Ref("busybox")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [name, v] : ParseRawJson(r.out)) EXPECT_TRUE(v.cached) << name;
  EXPECT_EQ(registry_->CountRequests("GET", "/v2/busybox/blobs/"), before);
}

// Registries with authentication: credentials come from the client's docker config through the
// session, TLS trust from kilnd's config; without credentials the error says access was denied.
class AuthImageTest : public ::testing::TestWithParam<RegistryMode> {
 protected:
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n";
  }
  RunResult BuildWith(const std::string& docker_config_dir, const std::string& ref) {
    return itest::Run({BinDir() + "/kilnctl", "--addr", daemon_.addr(), "build", "--progress=plain"},
               ImageDefinition(ref), {{"DOCKER_CONFIG", docker_config_dir}});
  }
  RegistryFixture registry_;
  Daemon daemon_;
};

TEST_P(AuthImageTest, CredentialsComeFromTheClientsDockerConfig) {
  ASSERT_TRUE(registry_.Start(GetParam())) << registry_.error();
  auto images = registry_.PushFixtureImages({"busybox"});
  ASSERT_FALSE(images.is_discarded()) << registry_.error();
  std::string dir = MakeTempDir("kiln-auth");
  std::string config = dir + "/kilnd.toml";
  std::string toml = "[registry.\"" + registry_.host() + "\"]\n";
  toml += registry_.tls() ? "ca = [\"" + registry_.ca_cert() + "\"]\n" : "http = true\n";
  WriteFile(config, toml);
  ASSERT_TRUE(daemon_.Start({"--debug", "--config", config})) << daemon_.Log();
  std::string ref = registry_.host() + "/busybox:latest";

  std::filesystem::create_directories(dir + "/none");
  auto r = BuildWith(dir + "/none", ref);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(registry_.host() + "/busybox"), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.find("pull access denied") != std::string::npos ||
              r.err.find("requires credentials") != std::string::npos)
      << r.err;

  std::filesystem::create_directories(dir + "/wrong");
  WriteFile(dir + "/wrong/config.json",
            "{\"auths\": {\"" + registry_.host() + "\": {\"username\": \"" + registry_.username() +
                "\", \"password\": \"not-the-password\"}}}");
  r = BuildWith(dir + "/wrong", ref);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("rejected the credentials"), std::string::npos) << r.err;

  std::filesystem::create_directories(dir + "/good");
  WriteFile(dir + "/good/config.json",
            "{\"auths\": {\"" + registry_.host() + "\": {\"username\": \"" + registry_.username() +
                "\", \"password\": \"" + registry_.password() + "\"}}}");
  r = BuildWith(dir + "/good", ref);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_.Kilnctl({"debug", "workers"}).exit_code, 0);

  // Credentials in kilnd's config serve clients that have none (a fresh root: nothing cached).
  daemon_.Stop();
  Daemon second;
  WriteFile(config, toml + "username = \"" + registry_.username() + "\"\npassword = \"" +
                        registry_.password() + "\"\n");
  ASSERT_TRUE(second.Start({"--debug", "--config", config})) << second.Log();
  r = itest::Run({BinDir() + "/kilnctl", "--addr", second.addr(), "build", "--progress=plain"},
                 ImageDefinition(ref), {{"DOCKER_CONFIG", dir + "/none"}});
  EXPECT_EQ(r.exit_code, 0) << r.err << second.Log();
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Modes, AuthImageTest,
                         ::testing::Values(RegistryMode::kBasic, RegistryMode::kToken),
                         [](const auto& info) { return std::string(RegistryModeName(info.param)); });

}  // namespace
}  // namespace kiln::itest
