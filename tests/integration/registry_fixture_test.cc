// The registry fixtures themselves: each mode starts, takes every fixture image with the
// digests make-images.py promises (read back with skopeo, an independent client), refuses
// anonymous clients when it has auth, and its access log counts requests exactly; and the
// expected root filesystems that make-images.py describes are what umoci unpacks.

#include "registry_fixture.h"

#include <gtest/gtest.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "harness.h"
#include "util/digest.h"

namespace kiln::itest {
namespace {

// One image cache for the whole process: the three modes push the same layouts.
std::string* g_cache = nullptr;

class CacheEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { g_cache = new std::string(MakeTempDir("kiln-fixture-cache")); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(*g_cache, ec);
    delete g_cache;
    g_cache = nullptr;
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new CacheEnvironment);

std::string Header(const nlohmann::json& probe, const std::string& name) {
  for (const auto& [k, v] : JsonAt(probe, {"headers"}).items()) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return JsonStr(v);
  }
  return "";
}

class RegistryFixtureTest : public ::testing::TestWithParam<RegistryMode> {
 protected:
  void SetUp() override { ASSERT_TRUE(reg_.Start(GetParam())) << reg_.error(); }

  // `skopeo inspect --raw` of a reference on this registry, with its TLS options and, unless
  // anonymous, its credentials.
  RunResult InspectRaw(const std::string& ref, bool anonymous = false) {
    std::vector<std::string> argv = {"skopeo", "inspect", "--raw"};
    for (const auto& a : reg_.SkopeoArgs()) {
      if (anonymous && a.rfind("--creds=", 0) == 0) continue;
      argv.push_back(a);
    }
    if (anonymous) argv.push_back("--no-creds");
    argv.push_back("docker://" + ref);
    return itest::Run(argv);
  }

  // The registry serves `ref` with the digest, media type, layers and config of `want` (an
  // image or platform description of make-images.py).
  void ExpectManifest(const std::string& ref, const nlohmann::json& want) {
    auto r = InspectRaw(ref);
    ASSERT_EQ(r.exit_code, 0) << ref << ": " << r.err;
    EXPECT_EQ(Digest::FromBytes(r.out).str(), JsonStr(JsonAt(want, {"digest"}))) << ref;
    auto m = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(m.is_object()) << ref;
    EXPECT_EQ(JsonAt(m, {"mediaType"}), JsonAt(want, {"media_type"})) << ref;
    const auto& want_layers = JsonAt(want, {"layers"});
    if (want_layers.is_null()) return;  // an index
    const auto& layers = JsonAt(m, {"layers"});
    ASSERT_EQ(layers.size(), want_layers.size()) << ref;
    for (size_t i = 0; i < layers.size(); i++) {
      EXPECT_EQ(JsonAt(layers, {i, "digest"}), JsonAt(want_layers, {i, "digest"})) << ref << i;
      EXPECT_EQ(JsonAt(layers, {i, "mediaType"}), JsonAt(want_layers, {i, "media_type"})) << ref;
    }
    EXPECT_EQ(JsonAt(m, {"config", "digest"}), JsonAt(want, {"config", "digest"})) << ref;
  }

  RegistryFixture reg_;
};

TEST_P(RegistryFixtureTest, ServesEveryFixtureImageWithTheLayoutDigests) {
  auto out = reg_.PushFixtureImages({}, *g_cache);
  ASSERT_TRUE(out.is_object()) << reg_.error();
  const auto& images = JsonAt(out, {"images"});
  for (const char* name :
       {"busybox", "layers", "zstd", "multi", "docker", "docker-multi", "evil-dotdot",
        "evil-symlink", "evil-abs", "evil-hardlink", "baddiffid"}) {
    const auto& img = JsonAt(images, {name});
    ASSERT_TRUE(img.is_object()) << name;
    std::string ref = JsonStr(JsonAt(img, {"ref"}));
    EXPECT_EQ(ref, reg_.host() + "/" + name + ":latest");
    ExpectManifest(ref, img);
    const auto& platforms = JsonAt(img, {"platforms"});
    for (size_t i = 0; i < platforms.size(); i++) {
      const auto& p = JsonAt(platforms, {i});
      ExpectManifest(reg_.host() + "/" + name + "@" + JsonStr(JsonAt(p, {"digest"})), p);
    }
  }
  // What the images promise in their descriptions.
  const auto& zstd = JsonAt(images, {"zstd", "layers"});
  ASSERT_EQ(zstd.size(), 2u);
  for (size_t i = 0; i < zstd.size(); i++) {
    EXPECT_EQ(JsonAt(zstd, {i, "media_type"}), "application/vnd.oci.image.layer.v1.tar+zstd");
  }
  EXPECT_EQ(JsonAt(images, {"multi", "platforms"}).size(), 3u);
  EXPECT_EQ(JsonAt(images, {"docker-multi", "media_type"}),
            "application/vnd.docker.distribution.manifest.list.v2+json");
  EXPECT_EQ(JsonAt(images, {"layers", "layers"}).size(), 4u);
  EXPECT_EQ(JsonAt(images, {"layers", "layers", 3, "diff_id"}),
            "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
  const auto& hello = JsonAt(images, {"busybox", "files", "/data/hello.txt"});
  EXPECT_EQ(JsonAt(hello, {"sha256"}), Digest::FromBytes("hello\n").hex());
  EXPECT_EQ(JsonAt(hello, {"mode"}), 0640);
  EXPECT_EQ(JsonAt(hello, {"uid"}), 1000);
  EXPECT_EQ(JsonAt(images, {"busybox", "files", "/data/setuid", "mode"}), 04755);
  // Deterministic: the same layouts (from the cache) give the same digests as a second build
  // in a fresh cache.
  std::string fresh = MakeTempDir("kiln-fixture-cache2");
  auto again = reg_.PushFixtureImages({"busybox", "layers"}, fresh);
  std::error_code ec;
  std::filesystem::remove_all(fresh, ec);
  ASSERT_TRUE(again.is_object()) << reg_.error();
  for (const char* name : {"busybox", "layers"}) {
    EXPECT_EQ(JsonAt(again, {"images", name, "digest"}), JsonAt(images, {name, "digest"}));
  }
}

TEST_P(RegistryFixtureTest, AnonymousClientsAreRefusedWhenAuthIsOn) {
  ASSERT_TRUE(reg_.PushFixtureImages({"busybox"}, *g_cache).is_object()) << reg_.error();
  std::string ref = reg_.host() + "/busybox:latest";
  auto anon = InspectRaw(ref, /*anonymous=*/true);
  auto base = reg_.Probe("/v2/", /*anonymous=*/true);
  auto manifest = reg_.Probe("/v2/busybox/manifests/latest", /*anonymous=*/true);
  ASSERT_TRUE(base.is_object());
  ASSERT_TRUE(manifest.is_object());
  switch (GetParam()) {
    case RegistryMode::kPlain:
      EXPECT_EQ(anon.exit_code, 0) << anon.err;
      EXPECT_EQ(JsonAt(base, {"status"}), 200);
      EXPECT_EQ(JsonAt(manifest, {"status"}), 200);
      break;
    case RegistryMode::kBasic:
      EXPECT_NE(anon.exit_code, 0);
      EXPECT_EQ(JsonAt(base, {"status"}), 401);
      EXPECT_EQ(JsonAt(manifest, {"status"}), 401);
      EXPECT_EQ(Header(base, "WWW-Authenticate"), "Basic realm=\"kiln-fixture\"");
      break;
    case RegistryMode::kToken:
      EXPECT_NE(anon.exit_code, 0);
      EXPECT_EQ(JsonAt(base, {"status"}), 401);
      EXPECT_EQ(JsonAt(manifest, {"status"}), 401);
      EXPECT_EQ(Header(manifest, "WWW-Authenticate"),
                "Bearer realm=\"" + reg_.token_url() +
                    "\",service=\"kiln-fixture-registry\",scope=\"repository:busybox:pull\"");
      // The token service itself refuses anonymous clients (no --anonymous-pull).
      EXPECT_GE(reg_.CountTokenRequests("GET", 401), 1);
      break;
  }
  // With credentials every mode answers.
  auto authed = reg_.Probe("/v2/busybox/manifests/latest", /*anonymous=*/false);
  ASSERT_TRUE(authed.is_object());
  EXPECT_EQ(JsonAt(authed, {"status"}), 200);
}

TEST_P(RegistryFixtureTest, AccessLogCountsEachRequest) {
  auto out = reg_.PushFixtureImages({"busybox"}, *g_cache);
  ASSERT_TRUE(out.is_object()) << reg_.error();
  EXPECT_GE(reg_.CountRequests("PUT", "/v2/busybox/manifests/"), 1);
  const std::string layer = JsonStr(JsonAt(out, {"images", "busybox", "layers", 0, "digest"}));
  ASSERT_FALSE(layer.empty());
  int before = reg_.CountRequests("GET", "/v2/busybox/manifests/latest");
  int before_ok = reg_.CountRequests("GET", "/v2/busybox/manifests/latest", 200);
  int blobs_before = reg_.CountRequests("GET", "/v2/busybox/blobs/" + layer, 200);
  int tokens_before = reg_.CountTokenRequests();
  auto r = InspectRaw(reg_.host() + "/busybox:latest");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(reg_.CountRequests("GET", "/v2/busybox/manifests/latest"), before + 1);
  EXPECT_EQ(reg_.CountRequests("GET", "/v2/busybox/manifests/latest", 200), before_ok + 1);
  // A blob download shows up as one GET of that digest.
  auto blob = reg_.Probe("/v2/busybox/blobs/" + layer, /*anonymous=*/false);
  ASSERT_TRUE(blob.is_object());
  EXPECT_EQ(JsonAt(blob, {"status"}), 200);
  EXPECT_EQ(reg_.CountRequests("GET", "/v2/busybox/blobs/" + layer, 200), blobs_before + 1);
  if (GetParam() == RegistryMode::kToken) {
    EXPECT_GT(reg_.CountTokenRequests("GET", 200), tokens_before);
  } else {
    EXPECT_EQ(reg_.CountTokenRequests(), 0);
  }
}

// Differences between the tree at `root` and make-images.py's "files" description (directory
// mtimes and symlink modes are not compared: they are not kept by every unpacker).
std::vector<std::string> CompareTree(const std::string& root, const nlohmann::json& files,
                                     const nlohmann::json& absent) {
  std::vector<std::string> diffs;
  std::map<std::string, ino_t> group_inode;
  std::error_code ec;
  std::vector<std::string> seen;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    seen.push_back("/" + it->path().lexically_relative(root).string());
  }
  if (ec) diffs.push_back("walk " + root + ": " + ec.message());
  for (const auto& p : seen) {
    if (!files.contains(p)) diffs.push_back("unexpected " + p);
  }
  for (const auto& [path, want] : files.items()) {
    std::string full = root + path;
    struct stat st;
    if (lstat(full.c_str(), &st) != 0) {
      diffs.push_back("missing " + path);
      continue;
    }
    std::string type = S_ISDIR(st.st_mode)    ? "dir"
                       : S_ISLNK(st.st_mode)  ? "symlink"
                       : S_ISREG(st.st_mode)  ? "file"
                       : S_ISFIFO(st.st_mode) ? "fifo"
                                              : "other";
    auto w = [&](const char* what) -> const nlohmann::json& { return JsonAt(want, {what}); };
    auto differ = [&](const char* what, const auto& got) {
      diffs.push_back(path + ": " + what + " is " + nlohmann::json(got).dump() + ", want " +
                      w(what).dump());
    };
    if (w("type") != type) {
      differ("type", type);
      continue;
    }
    if (w("uid") != st.st_uid) differ("uid", st.st_uid);
    if (w("gid") != st.st_gid) differ("gid", st.st_gid);
    if (type != "symlink" && w("mode") != (st.st_mode & 07777)) {
      differ("mode", st.st_mode & 07777);
    }
    if (type != "dir" && w("mtime") != st.st_mtim.tv_sec) differ("mtime", st.st_mtim.tv_sec);
    if (type == "file") {
      std::string data = ReadFile(full);
      if (w("size") != data.size()) differ("size", data.size());
      if (w("sha256") != Digest::FromBytes(data).hex()) differ("sha256", "other bytes");
    }
    if (type == "symlink") {
      std::vector<char> buf(4096);
      ssize_t n = readlink(full.c_str(), buf.data(), buf.size());
      std::string target = n < 0 ? "" : std::string(buf.data(), static_cast<size_t>(n));
      if (w("target") != target) differ("target", target);
    }
    if (w("hardlink_group").is_string()) {
      auto [g, inserted] = group_inode.emplace(JsonStr(w("hardlink_group")), st.st_ino);
      if (!inserted && g->second != st.st_ino) differ("hardlink_group", "another inode");
    }
    std::vector<char> names(4096);
    ssize_t len = llistxattr(full.c_str(), names.data(), names.size());
    nlohmann::json xattrs = nlohmann::json::object();
    for (ssize_t off = 0; len > 0 && off < len;) {
      std::string name(names.data() + off);
      off += static_cast<ssize_t>(name.size()) + 1;
      if (name.rfind("user.", 0) != 0) continue;
      std::vector<char> value(4096);
      ssize_t vn = lgetxattr(full.c_str(), name.c_str(), value.data(), value.size());
      xattrs[name] = std::string(value.data(), vn < 0 ? 0 : static_cast<size_t>(vn));
    }
    if ((w("xattrs").is_null() ? nlohmann::json::object() : w("xattrs")) != xattrs) {
      differ("xattrs", xattrs);
    }
  }
  for (size_t i = 0; i < absent.size(); i++) {
    std::string a = JsonStr(JsonAt(absent, {i}));
    struct stat st;
    if (lstat((root + a).c_str(), &st) == 0) diffs.push_back("present " + a);
  }
  return diffs;
}

// The "files" of an image description is what a correct unpacker produces: checked against
// umoci, so tests of kiln's own unpacking can trust it.
TEST(FixtureImagesTest, DescribedFilesAreWhatUmociUnpacks) {
  if (geteuid() != 0) GTEST_SKIP() << "unpacking with owners needs root";
  RegistryFixture reg;
  ASSERT_TRUE(reg.Start(RegistryMode::kPlain)) << reg.error();
  auto out = reg.PushFixtureImages({"busybox", "layers"}, *g_cache);
  ASSERT_TRUE(out.is_object()) << reg.error();
  for (const char* name : {"busybox", "layers"}) {
    const auto& img = JsonAt(out, {"images", name});
    std::string bundle = reg.dir() + "/bundle-" + name;
    auto r = itest::Run(
        {"umoci", "unpack", "--image", JsonStr(JsonAt(img, {"layout"})) + ":latest", bundle});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto diffs = CompareTree(bundle + "/rootfs", JsonAt(img, {"files"}), JsonAt(img, {"absent"}));
    EXPECT_TRUE(diffs.empty()) << name << ":\n"
                               << [&] {
                                    std::string s;
                                    for (const auto& d : diffs) s += "  " + d + "\n";
                                    return s;
                                  }();
  }
  EXPECT_GT(JsonAt(out, {"images", "busybox", "files"}).size(), 250u);
  EXPECT_EQ(JsonAt(out, {"images", "layers", "files", "/lay/opq/new.txt", "type"}), "file");
  EXPECT_EQ(JsonAt(out, {"images", "layers", "absent"}).size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(Modes, RegistryFixtureTest,
                         ::testing::Values(RegistryMode::kPlain, RegistryMode::kBasic,
                                           RegistryMode::kToken),
                         [](const auto& info) {
                           return std::string(RegistryModeName(info.param));
                         });

}  // namespace
}  // namespace kiln::itest
