#pragma once
// Test helpers for the image archive tests: small images (config, gzip layers made with our
// TarWriter, manifest, a two-platform index) built in a temp content store, archives written to
// memory, a reader of ustar archives and the system tools (skopeo, umoci) the tests
// check against. Not thread-safe; test-only.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "content/testing/temp_store.h"
#include "exporter/image_archive.h"
#include "registry/manifest.h"
#include "snapshot/testing/temp_dir.h"
#include "util/context.h"
#include "util/digest.h"

namespace kiln::exporter::testing {

// Temp dirs and file helpers are snapshot's test helpers.
using snapshot::testing::ReadFile;
using snapshot::testing::TempDir;
using snapshot::testing::WriteFile;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
// Runs `sh -c command`.
CommandResult RunCommand(const std::string& command);
bool HaveTool(const std::string& name);

std::string Gzip(const std::string& data);

// One entry of a ustar archive (our names are short: PAX records are not read).
struct TarEntry {
  std::string name;
  char type = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = -1;
  std::string uname;
  std::string data;
};
std::vector<TarEntry> ReadTar(const std::string& tar);
std::vector<std::string> Names(const std::vector<TarEntry>& entries);
// nullptr when there is no entry of that name.
const TarEntry* Find(const std::vector<TarEntry>& entries, const std::string& name);
std::string BlobName(const Digest& d);  // "blobs/sha256/<hex>"

struct TestImage {
  registry::Descriptor manifest;
  registry::Descriptor config;
  std::vector<registry::Descriptor> layers;
};

ArchiveOptions OCI(std::vector<std::string> names = {});
ArchiveOptions Docker(std::vector<std::string> names = {});

class ImageArchiveTest : public ::testing::Test {
 protected:
  registry::Descriptor Put(const std::string& data, std::string_view media_type);
  // A gzip layer holding one file; returns the layer and its diff ID.
  std::pair<registry::Descriptor, Digest> Layer(const std::string& file,
                                                const std::string& content);
  // An OCI image for linux/arch with one layer per (file name, content).
  TestImage Image(const std::string& arch,
                  const std::vector<std::pair<std::string, std::string>>& files);
  // linux/amd64, two layers: hello.txt ("hello"), etc/motd ("hi there").
  TestImage Simple();
  // An OCI index of an amd64 and an arm64 image that share their first layer.
  registry::Descriptor TwoPlatformIndex(TestImage* amd64, TestImage* arm64);
  // The archive in memory.
  Result<std::string> Archive(const registry::Descriptor& root, const ArchiveOptions& opts);
  // A blob's bytes from the store.
  std::string Blob(const registry::Descriptor& d);

  Context ctx_ = Context::Background();
  content::testing::TempStore store_;
  TempDir tmp_;
};

}  // namespace kiln::exporter::testing
