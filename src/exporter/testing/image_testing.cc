#include "exporter/testing/image_testing.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/fs_copy.h"
#include "util/tar_writer.h"

namespace kiln::exporter::testing {

using nlohmann::json;
using registry::Descriptor;
namespace mt = registry::media_types;

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
    r.output.append(buf, n);
  }
  int rc = ::pclose(p);
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

bool HaveTool(const std::string& name) {
  return RunCommand("command -v " + name + " >/dev/null").exit_code == 0;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

namespace {

uint64_t Octal(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
    v = v * 8 + static_cast<uint64_t>(p[i] - '0');
  }
  return v;
}

json DescJson(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
  if (d.platform) {
    j["platform"] = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
  }
  return j;
}

}  // namespace

std::vector<TarEntry> ReadTar(const std::string& tar) {
  std::vector<TarEntry> out;
  size_t off = 0;
  while (off + 512 <= tar.size()) {
    const char* h = tar.data() + off;
    if (h[0] == '\0') {
      break;
    }
    TarEntry e;
    e.name = std::string(h, strnlen(h, 100));
    e.mode = static_cast<uint32_t>(Octal(h + 100, 8));
    e.uid = static_cast<uint32_t>(Octal(h + 108, 8));
    e.gid = static_cast<uint32_t>(Octal(h + 116, 8));
    size_t size = Octal(h + 124, 12);
    e.mtime = static_cast<int64_t>(Octal(h + 136, 12));
    e.type = h[156];
    e.uname = std::string(h + 265, strnlen(h + 265, 32));
    e.data = tar.substr(off + 512, size);
    out.push_back(std::move(e));
    off += 512 + (size + 511) / 512 * 512;
  }
  return out;
}

std::vector<std::string> Names(const std::vector<TarEntry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) {
    names.push_back(e.name);
  }
  return names;
}

const TarEntry* Find(const std::vector<TarEntry>& entries, const std::string& name) {
  for (const auto& e : entries) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

std::string BlobName(const Digest& d) { return "blobs/sha256/" + std::string(d.hex()); }

ArchiveOptions OCI(std::vector<std::string> names) {
  ArchiveOptions o;
  o.names = std::move(names);
  return o;
}

ArchiveOptions Docker(std::vector<std::string> names) {
  ArchiveOptions o;
  o.format = ArchiveFormat::kDocker;
  o.names = std::move(names);
  return o;
}

Descriptor ImageArchiveTest::Put(const std::string& data, std::string_view media_type) {
  auto info = store_->WriteBlob(ctx_, data);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = info->digest;
  d.size = info->size;
  return d;
}

std::pair<Descriptor, Digest> ImageArchiveTest::Layer(const std::string& file,
                                                      const std::string& content) {
  std::string tar;
  TarWriter tw([&](std::string_view d) {
    tar.append(d);
    return Status::Ok();
  });
  TarHeader h;
  h.name = file;
  h.mode = 0644;
  h.size = static_cast<int64_t>(content.size());
  EXPECT_TRUE(tw.WriteHeader(h).ok());
  EXPECT_TRUE(tw.WriteData(content).ok());
  EXPECT_TRUE(tw.Close().ok());
  return {Put(Gzip(tar), mt::kOCILayerGzip), Digest::FromBytes(tar)};
}

TestImage ImageArchiveTest::Image(const std::string& arch,
                                  const std::vector<std::pair<std::string, std::string>>& files) {
  TestImage img;
  json diff_ids = json::array();
  for (const auto& [name, content] : files) {
    auto [layer, diff_id] = Layer(name, content);
    img.layers.push_back(layer);
    diff_ids.push_back(diff_id.str());
  }
  json config = {{"architecture", arch},
                 {"os", "linux"},
                 {"config", {{"Cmd", {"/bin/sh"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  img.config = Put(config.dump(), mt::kOCIConfig);
  json layers = json::array();
  for (const auto& l : img.layers) {
    layers.push_back(DescJson(l));
  }
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", mt::kOCIManifest},
                   {"config", DescJson(img.config)},
                   {"layers", layers}};
  img.manifest = Put(manifest.dump(), mt::kOCIManifest);
  return img;
}

TestImage ImageArchiveTest::Simple() {
  return Image("amd64", {{"hello.txt", "hello"}, {"etc/motd", "hi there"}});
}

Descriptor ImageArchiveTest::TwoPlatformIndex(TestImage* amd64, TestImage* arm64) {
  *amd64 = Image("amd64", {{"shared", "same"}, {"arch", "amd64"}});
  *arm64 = Image("arm64", {{"shared", "same"}, {"arch", "arm64"}});
  amd64->manifest.platform = registry::Platform{"linux", "amd64", "", "", {}};
  arm64->manifest.platform = registry::Platform{"linux", "arm64", "", "", {}};
  json index = {{"schemaVersion", 2},
                {"mediaType", mt::kOCIIndex},
                {"manifests", {DescJson(amd64->manifest), DescJson(arm64->manifest)}}};
  return Put(index.dump(), mt::kOCIIndex);
}

Result<std::string> ImageArchiveTest::Archive(const Descriptor& root, const ArchiveOptions& opts) {
  std::string out;
  Status s = WriteImageArchive(ctx_, *store_, root, opts, [&](std::string_view d) {
    out.append(d);
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return out;
}

std::string ImageArchiveTest::Blob(const Descriptor& d) {
  auto b = store_->ReadAll(d.digest, 1 << 20);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : std::string();
}

}  // namespace kiln::exporter::testing
