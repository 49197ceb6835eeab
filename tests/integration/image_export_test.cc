// The image, oci and docker exporters end to end: a Dockerfile FROM the registry fixture's
// busybox built by the real kilnd, exported as an OCI tarball, a Docker tarball and an OCI
// layout directory, each checked with skopeo and umoci, and the unpacked bundle run with runc;
// pushed to Debian's docker-registry (plain HTTP, and TLS + basic auth) with --metadata-file,
// a second push uploading nothing, and the pushed image used as a later build's FROM; two
// builds with SOURCE_DATE_EPOCH in separate roots giving the same manifest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness.h"
#include "registry_fixture.h"
#include "util/digest.h"

namespace kiln::itest {
namespace {

using nlohmann::json;

json ReadJson(const std::string& path) {
  return json::parse(ReadFile(path), nullptr, /*allow_exceptions=*/false);
}

class ImageExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new RegistryFixture();
    ASSERT_TRUE(registry_->Start(RegistryMode::kPlain)) << registry_->error();
    auto images = registry_->PushFixtureImages({"busybox"});
    ASSERT_FALSE(images.is_discarded()) << registry_->error();
  }
  static void TearDownTestSuite() { delete registry_; }

  void SetUp() override {
    ASSERT_NE(registry_, nullptr);
    ASSERT_TRUE(daemon_.Start()) << daemon_.Log();
    ctx_ = MakeTempDir("kiln-ie-ctx");
    out_ = MakeTempDir("kiln-ie-out");
    WriteFile(ctx_ + "/Dockerfile", "FROM " + registry_->host() +
                                        "/busybox:latest\n"
                                        "COPY hello.txt /hello.txt\n"
                                        "RUN echo built > /built.txt\n"
                                        "CMD [\"sh\", \"-c\", \"cat /hello.txt /built.txt\"]\n");
    WriteFile(ctx_ + "/hello.txt", "hello from kiln\n");
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- kilnd log ----\n" << daemon_.Log() << "\n" << registry_->Log() << "\n";
    }
    std::filesystem::remove_all(ctx_);
    std::filesystem::remove_all(out_);
  }

  RunResult Build(const Daemon& d, const std::string& output,
                  const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "build",           "--progress=plain", "--frontend",         "dockerfile.v0", "--local",
        "context=" + ctx_, "--local",          "dockerfile=" + ctx_, "--output",      output};
    args.insert(args.end(), extra.begin(), extra.end());
    return d.Kilnctl(args);
  }

  // umoci unpacks the layout's tag into a bundle, which runc runs; returns runc's stdout.
  std::string RunLayout(const std::string& layout, const std::string& tag) {
    std::string bundle = out_ + "/bundle-" + tag;
    auto u = itest::Run({"umoci", "unpack", "--image", layout + ":" + tag, bundle});
    EXPECT_EQ(u.exit_code, 0) << u.out << u.err;
    if (u.exit_code != 0) return "";
    json cfg = ReadJson(bundle + "/config.json");
    cfg["process"]["terminal"] = false;
    WriteFile(bundle + "/config.json", cfg.dump());
    auto r = itest::Run({"runc", "--root", out_ + "/runc", "run", "--bundle", bundle,
                         "kiln-ie-" + std::to_string(getpid()) + "-" + tag});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static RegistryFixture* registry_;
  Daemon daemon_;
  std::string ctx_, out_;
};

RegistryFixture* ImageExportTest::registry_ = nullptr;

TEST_F(ImageExportTest, OciTarballIsAValidRunnableImage) {
  auto r = Build(daemon_, "type=oci,dest=" + out_ + "/img.tar,name=kiln-test/app:v1",
                 {"--metadata-file", out_ + "/md.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("exporting to oci image format"), std::string::npos) << r.err;
  json md = ReadJson(out_ + "/md.json");
  std::string digest = md.value("containerimage.digest", "");
  ASSERT_EQ(digest.rfind("sha256:", 0), 0u) << md.dump();
  EXPECT_EQ(md["containerimage.descriptor"]["digest"], digest);
  EXPECT_EQ(md["containerimage.descriptor"]["mediaType"],
            "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(md["image.name"], "docker.io/kiln-test/app:v1");

  auto inspect = itest::Run({"skopeo", "inspect", "oci-archive:" + out_ + "/img.tar"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  json info = json::parse(inspect.out, nullptr, false);
  EXPECT_EQ(info["Digest"], digest);
  EXPECT_EQ(info["Layers"].size(), 3u);  // busybox's layer, COPY, RUN

  std::string layout = out_ + "/layout";
  std::filesystem::create_directories(layout);
  ASSERT_EQ(itest::Run({"tar", "-xf", out_ + "/img.tar", "-C", layout}).exit_code, 0);
  json index = ReadJson(layout + "/index.json");
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], digest);
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "v1");
  // As BuildKit's: a single-platform image's descriptor names its platform.
  EXPECT_EQ(index["manifests"][0]["platform"]["os"], "linux");
  EXPECT_FALSE(index["manifests"][0]["platform"]["architecture"].get<std::string>().empty());
  EXPECT_EQ(md["containerimage.descriptor"]["platform"], index["manifests"][0]["platform"]);
  // Every gzip layer is a valid gzip stream.
  json manifest = ReadJson(layout + "/blobs/sha256/" + digest.substr(7));
  for (const auto& l : manifest["layers"]) {
    std::string blob = layout + "/blobs/sha256/" + l["digest"].get<std::string>().substr(7);
    EXPECT_EQ(itest::Run({"gzip", "-t", blob}).exit_code, 0) << l.dump();
  }
  EXPECT_EQ(RunLayout(layout, "v1"), "hello from kiln\nbuilt\n");
}

TEST_F(ImageExportTest, DockerTarballAndOciLayoutDirectory) {
  auto r = Build(daemon_, "type=docker,dest=" + out_ + "/docker.tar,name=kiln-test/app:v2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string x = out_ + "/docker";
  std::filesystem::create_directories(x);
  ASSERT_EQ(itest::Run({"tar", "-xf", out_ + "/docker.tar", "-C", x}).exit_code, 0);
  json manifest = ReadJson(x + "/manifest.json");
  ASSERT_TRUE(manifest.is_array() && manifest.size() == 1) << manifest.dump();
  EXPECT_EQ(manifest[0]["RepoTags"], json({"kiln-test/app:v2"}));
  ASSERT_EQ(manifest[0]["Layers"].size(), 3u);
  for (const auto& l : manifest[0]["Layers"]) {
    EXPECT_TRUE(std::filesystem::exists(x + "/" + l.get<std::string>())) << l;
  }
  EXPECT_TRUE(std::filesystem::exists(x + "/" + manifest[0]["Config"].get<std::string>()));
  json repos = ReadJson(x + "/repositories");
  EXPECT_TRUE(repos["kiln-test/app"].contains("v2")) << repos.dump();
  auto inspect = itest::Run({"skopeo", "inspect", "docker-archive:" + out_ + "/docker.tar"});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(json::parse(inspect.out, nullptr, false)["Layers"].size(), 3u) << inspect.out;

  // tar=false: an OCI layout directory written by kilnctl through the session's content store.
  std::string dir = out_ + "/ocidir";
  r = Build(daemon_, "type=oci,dest=" + dir + ",tar=false,name=kiln-test/app:v3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json index = ReadJson(dir + "/index.json");
  ASSERT_EQ(index["manifests"].size(), 1u) << index.dump();
  EXPECT_EQ(ReadJson(dir + "/oci-layout")["imageLayoutVersion"], "1.0.0");
  auto ls = itest::Run({"umoci", "ls", "--layout", dir});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out, "v3\n");
  EXPECT_EQ(RunLayout(dir, "v3"), "hello from kiln\nbuilt\n");
}

TEST_F(ImageExportTest, PushSkipsWhatTheRegistryHasAndIsUsableAsABase) {
  std::string name = registry_->host() + "/pushed/app:1";
  auto r = Build(daemon_, "type=image,name=" + name + ",push=true",
                 {"--metadata-file", out_ + "/md.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("pushing layers"), std::string::npos) << r.err;
  json md = ReadJson(out_ + "/md.json");
  for (const char* key : {"containerimage.digest", "containerimage.config.digest",
                          "containerimage.descriptor", "image.name"}) {
    EXPECT_TRUE(md.contains(key)) << key << " in " << md.dump();
  }
  EXPECT_EQ(md["image.name"], name);
  auto inspect = itest::Run({"skopeo", "inspect", "--tls-verify=false", "docker://" + name});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(json::parse(inspect.out, nullptr, false)["Digest"], md["containerimage.digest"]);
  auto raw = itest::Run({"skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + name});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(json::parse(raw.out, nullptr, false)["config"]["digest"],
            md["containerimage.config.digest"]);

  // Again: the registry has every blob, nothing is uploaded.
  auto uploads = [&] {
    return registry_->CountRequests("POST", "/v2/pushed/app/blobs/uploads/") +
           registry_->CountRequests("PATCH", "/v2/pushed/app/blobs/uploads/") +
           registry_->CountRequests("PUT", "/v2/pushed/app/blobs/uploads/");
  };
  int before = uploads();
  r = Build(daemon_, "type=image,name=" + name + ",push=true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(uploads(), before);

  // To another repository of the registry: every layer is mounted (the base image's from
  // busybox, ours from where they were pushed), none uploaded.
  std::string other = registry_->host() + "/pushed/other:1";
  r = Build(daemon_, "type=image,name=" + other + ",push=true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(registry_->CountRequests("POST", "/v2/pushed/other/blobs/uploads/?mount=", 201), 3);
  EXPECT_EQ(registry_->CountRequests("PATCH", "/v2/pushed/other/blobs/uploads/"), 0);

  // A later build uses the pushed image as its base.
  WriteFile(ctx_ + "/Dockerfile", "FROM " + name + "\nRUN cat /hello.txt /built.txt > /both.txt\n");
  r = Build(daemon_, "type=local,dest=" + out_ + "/next");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/next/both.txt"), "hello from kiln\nbuilt\n");
}

// Two platforms: the registry gets a manifest list of two manifests with their platforms and
// configs; a later build FROM it picks the host's manifest.
TEST_F(ImageExportTest, SeveralPlatformsArePushedAsAnIndex) {
  WriteFile(ctx_ + "/Dockerfile", "FROM " + registry_->host() +
                                      "/busybox:latest\n"
                                      "ARG TARGETARCH\n"
                                      "COPY hello.txt /hello-$TARGETARCH.txt\n");
  std::string name = registry_->host() + "/pushed/multi:1";
  auto r =
      Build(daemon_, "type=image,name=" + name + ",push=true",
            {"--opt", "platform=linux/amd64,linux/arm64", "--metadata-file", out_ + "/md.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json md = ReadJson(out_ + "/md.json");
  EXPECT_FALSE(md.contains("containerimage.config.digest")) << md.dump();
  auto raw = itest::Run({"skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + name});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  json index = json::parse(raw.out, nullptr, false);
  EXPECT_EQ(index["mediaType"], "application/vnd.docker.distribution.manifest.list.v2+json");
  EXPECT_EQ(md["containerimage.digest"], Digest::FromBytes(raw.out).str());
  ASSERT_EQ(index["manifests"].size(), 2u) << raw.out;
  EXPECT_EQ(index["manifests"][0]["platform"], json({{"architecture", "amd64"}, {"os", "linux"}}));
  EXPECT_EQ(index["manifests"][1]["platform"], json({{"architecture", "arm64"}, {"os", "linux"}}));
  auto arm = itest::Run({"skopeo", "--override-arch", "arm64", "inspect", "--tls-verify=false",
                         "--config", "docker://" + name});
  ASSERT_EQ(arm.exit_code, 0) << arm.err;
  EXPECT_EQ(json::parse(arm.out, nullptr, false)["architecture"], "arm64") << arm.out;

  // Annotations of the index and of one platform's manifest (OCI media types only).
  std::string annotated = registry_->host() + "/pushed/annotated:1";
  const std::string two = "platform=linux/amd64,linux/arm64";
  r = Build(daemon_,
            "type=image,name=" + annotated +
                ",push=true,oci-mediatypes=true,annotation-index.org.opencontainers.image."
                "description=both,annotation-manifest[linux/arm64].org.opencontainers.image."
                "title=arm",
            {"--opt", two});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  raw = itest::Run({"skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + annotated});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  index = json::parse(raw.out, nullptr, false);
  EXPECT_EQ(index["annotations"]["org.opencontainers.image.description"], "both") << raw.out;
  ASSERT_EQ(index["manifests"].size(), 2u) << raw.out;
  for (const auto& d : index["manifests"]) {
    std::string arch = d["platform"]["architecture"];
    std::string repo = annotated.substr(0, annotated.rfind(':'));
    auto m = itest::Run({"skopeo", "inspect", "--tls-verify=false", "--raw",
                         "docker://" + repo + "@" + d["digest"].get<std::string>()});
    ASSERT_EQ(m.exit_code, 0) << m.err;
    json manifest = json::parse(m.out, nullptr, false);
    EXPECT_EQ(manifest["annotations"].contains("org.opencontainers.image.title"), arch == "arm64")
        << arch << ": " << m.out;
  }
  r = Build(daemon_, "type=image,name=" + annotated + ",annotation-index.x=1", {"--opt", two});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot export annotations with \"oci-mediatypes=false\""),
            std::string::npos)
      << r.err;
  r = Build(daemon_, "type=image,name=" + annotated + ",annotation[linux/s390x].x=1",
            {"--opt", two});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("invalid annotation: no platform linux/s390x found in source"),
            std::string::npos)
      << r.err;

  WriteFile(ctx_ + "/Dockerfile", "FROM " + name + "\nRUN cat /hello-amd64.txt > /seen.txt\n");
  r = Build(daemon_, "type=local,dest=" + out_ + "/next");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(out_ + "/next/seen.txt"), "hello from kiln\n");
}

TEST_F(ImageExportTest, SourceDateEpochGivesTheSameManifestInSeparateRoots) {
  Daemon other;
  ASSERT_TRUE(other.Start()) << other.Log();
  std::vector<std::string> digests;
  for (const Daemon* d : {&daemon_, &other}) {
    std::string md = out_ + "/md-" + std::to_string(digests.size()) + ".json";
    auto r = Build(*d, "type=oci,dest=" + out_ + "/epoch.tar,rewrite-timestamp=true",
                   {"--opt", "build-arg:SOURCE_DATE_EPOCH=1700000000", "--metadata-file", md});
    ASSERT_EQ(r.exit_code, 0) << r.err << other.Log();
    digests.push_back(ReadJson(md).value("containerimage.digest", ""));
  }
  EXPECT_FALSE(digests[0].empty());
  EXPECT_EQ(digests[0], digests[1]);
  std::string layout = out_ + "/epoch";
  std::filesystem::create_directories(layout);
  ASSERT_EQ(itest::Run({"tar", "-xf", out_ + "/epoch.tar", "-C", layout}).exit_code, 0);
  json manifest = ReadJson(layout + "/blobs/sha256/" + digests[0].substr(7));
  json config = ReadJson(layout + "/blobs/sha256/" +
                         manifest["config"]["digest"].get<std::string>().substr(7));
  EXPECT_EQ(config["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(config["history"].back()["created"], "2023-11-14T22:13:20Z");
  // The RUN step's new file has the epoch as its time (rewrite-timestamp), not the build's.
  std::string run_layer =
      layout + "/blobs/sha256/" + manifest["layers"].back()["digest"].get<std::string>().substr(7);
  auto listing = itest::Run({"tar", "--full-time", "-tvzf", run_layer}, "", {{"TZ", "UTC"}});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find("2023-11-14 22:13:20 built.txt"), std::string::npos) << listing.out;
}

TEST_F(ImageExportTest, ImageConfigAndHistoryFromTheDockerfile) {
  WriteFile(ctx_ + "/Dockerfile", "FROM " + registry_->host() +
                                      "/busybox:latest\n"
                                      "ENV A=1 B=\"two words\"\n"
                                      "LABEL org.example.k=v\n"
                                      "WORKDIR /srv\n"
                                      "COPY hello.txt .\n"
                                      "RUN echo x > x.txt\n"
                                      "EXPOSE 80 53/udp\n"
                                      "VOLUME /data\n"
                                      "USER 1000:1000\n"
                                      "STOPSIGNAL SIGTERM\n"
                                      "HEALTHCHECK --interval=5s CMD true\n"
                                      "SHELL [\"/bin/sh\", \"-ec\"]\n"
                                      "ONBUILD RUN echo child\n"
                                      "ENTRYPOINT [\"/bin/sh\"]\n"
                                      "CMD [\"-c\", \"cat hello.txt\"]\n");
  auto r =
      Build(daemon_, "type=oci,dest=" + out_ + "/cfg.tar", {"--metadata-file", out_ + "/md.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string layout = out_ + "/cfg";
  std::filesystem::create_directories(layout);
  ASSERT_EQ(itest::Run({"tar", "-xf", out_ + "/cfg.tar", "-C", layout}).exit_code, 0);
  json md = ReadJson(out_ + "/md.json");
  json config = ReadJson(layout + "/blobs/sha256/" +
                         md["containerimage.config.digest"].get<std::string>().substr(7));
  const json& c = config["config"];
  EXPECT_EQ(c["Env"], json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            "A=1", "B=two words"}));
  EXPECT_EQ(c["Labels"]["org.example.k"], "v");
  EXPECT_EQ(c["WorkingDir"], "/srv");
  EXPECT_EQ(c["ExposedPorts"], json({{"53/udp", json::object()}, {"80/tcp", json::object()}}));
  EXPECT_EQ(c["Volumes"], json({{"/data", json::object()}}));
  EXPECT_EQ(c["User"], "1000:1000");
  EXPECT_EQ(c["StopSignal"], "SIGTERM");
  EXPECT_EQ(c["Healthcheck"]["Test"], json({"CMD-SHELL", "true"}));
  EXPECT_EQ(c["Healthcheck"]["Interval"], 5000000000LL);
  EXPECT_EQ(c["Shell"], json({"/bin/sh", "-ec"}));
  EXPECT_EQ(c["OnBuild"], json({"RUN echo child"}));
  EXPECT_EQ(c["Entrypoint"], json({"/bin/sh"}));
  EXPECT_EQ(c["Cmd"], json({"-c", "cat hello.txt"}));

  // One history entry with a layer per layer, in order, after the base image's.
  json manifest = ReadJson(layout + "/blobs/sha256/" +
                           md["containerimage.digest"].get<std::string>().substr(7));
  std::vector<std::string> with_layer;
  for (const auto& h : config["history"]) {
    EXPECT_TRUE(h.contains("created")) << h.dump();
    if (!h.value("empty_layer", false)) with_layer.push_back(h.value("created_by", ""));
  }
  ASSERT_EQ(with_layer.size(), manifest["layers"].size()) << config["history"].dump(1);
  ASSERT_EQ(config["rootfs"]["diff_ids"].size(), manifest["layers"].size());
  size_t n = with_layer.size();
  ASSERT_GE(n, 3u);
  EXPECT_EQ(with_layer[n - 3], "WORKDIR /srv");
  EXPECT_EQ(with_layer[n - 2].rfind("COPY hello.txt . # buildkit", 0), 0u) << with_layer[n - 2];
  EXPECT_EQ(with_layer[n - 1].rfind("RUN /bin/sh -c echo x > x.txt", 0), 0u) << with_layer[n - 1];
  EXPECT_EQ(config["history"].back()["created_by"], "CMD [\"-c\" \"cat hello.txt\"]");
  EXPECT_EQ(config["history"].back()["comment"], "buildkit.dockerfile.v0");
}

TEST_F(ImageExportTest, BadExporterAttributesAreClearErrors) {
  auto r = Build(daemon_, "type=image,name=x,push=maybe");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("non-bool value specified for push"), std::string::npos) << r.err;
  r = Build(daemon_, "type=image,push=true");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("needs a name"), std::string::npos) << r.err;
  r = Build(daemon_, "type=oci,dest=" + out_ + "/x.tar,compression=brotli");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unsupported compression type brotli"), std::string::npos) << r.err;
}

// TLS + basic auth: credentials from the client's docker config through the session, trust from
// kilnd's config.
TEST(ImageExportAuthTest, PushToATlsRegistryWithBasicAuth) {
  RegistryFixture registry;
  ASSERT_TRUE(registry.Start(RegistryMode::kBasic)) << registry.error();
  ASSERT_FALSE(registry.PushFixtureImages({"busybox"}).is_discarded()) << registry.error();
  std::string dir = MakeTempDir("kiln-ie-auth");
  WriteFile(dir + "/kilnd.toml",
            "[registry.\"" + registry.host() + "\"]\nca = [\"" + registry.ca_cert() + "\"]\n");
  WriteFile(dir + "/docker/config.json",
            "{\"auths\": {\"" + registry.host() + "\": {\"username\": \"" + registry.username() +
                "\", \"password\": \"" + registry.password() + "\"}}}");
  WriteFile(dir + "/ctx/Dockerfile",
            "FROM " + registry.host() + "/busybox:latest\nRUN echo tls > /tls.txt\n");
  Daemon daemon;
  ASSERT_TRUE(daemon.Start({"--debug", "--config", dir + "/kilnd.toml"})) << daemon.Log();
  std::string name = registry.host() + "/secure/app:1";
  auto r =
      itest::Run({BinDir() + "/kilnctl", "--addr", daemon.addr(), "build", "--progress=plain",
                  "--frontend", "dockerfile.v0", "--local", "context=" + dir + "/ctx", "--local",
                  "dockerfile=" + dir + "/ctx", "--output",
                  "type=image,name=" + name + ",push=true", "--metadata-file", dir + "/md.json"},
                 "", {{"DOCKER_CONFIG", dir + "/docker"}});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon.Log() << registry.Log();
  std::vector<std::string> args = {"skopeo", "inspect"};
  for (const auto& a : registry.SkopeoArgs()) args.push_back(a);
  args.push_back("docker://" + name);
  auto inspect = itest::Run(args);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(json::parse(inspect.out, nullptr, false)["Digest"],
            ReadJson(dir + "/md.json")["containerimage.digest"]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::itest
