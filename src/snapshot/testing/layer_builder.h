#pragma once
// Test helper: builds layer tars in memory with libarchive's writer (PAX format, so nanosecond
// times and SCHILY.xattr records), plain or compressed with gzip or zstd, and feeds them to
// ApplyLayer through a chunked ByteSource. Not thread-safe.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "snapshot/layer_reader.h"

namespace kiln::snapshot::testing {

enum class Compression { kNone, kGzip, kZstd };

struct TestEntry {
  enum class Kind { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo };
  Kind kind = Kind::kFile;
  std::string name;
  std::string data;  // content, symlink target or hardlink target
  uint32_t perm = 0644;
  uint32_t uid = 0;  // the builders default to the caller's ids
  uint32_t gid = 0;
  int64_t mtime_sec = 1600000000;
  int64_t mtime_nsec = 0;
  bool has_atime = false;
  int64_t atime_sec = 0;
  int64_t atime_nsec = 0;
  uint32_t major = 0;
  uint32_t minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

class LayerBuilder {
 public:
  LayerBuilder& File(std::string name, std::string data, uint32_t perm = 0644);
  LayerBuilder& Dir(std::string name, uint32_t perm = 0755);
  LayerBuilder& Symlink(std::string name, std::string target);
  LayerBuilder& Hardlink(std::string name, std::string target);
  LayerBuilder& Char(std::string name, uint32_t major, uint32_t minor);
  LayerBuilder& Block(std::string name, uint32_t major, uint32_t minor);
  LayerBuilder& Fifo(std::string name);
  // ".wh.<base>" next to `path`, and "<dir>/.wh..wh..opq".
  LayerBuilder& Whiteout(const std::string& path);
  LayerBuilder& Opaque(const std::string& dir);

  // Change the last entry added.
  LayerBuilder& Owner(uint32_t uid, uint32_t gid);
  LayerBuilder& Mtime(int64_t sec, int64_t nsec);
  LayerBuilder& Atime(int64_t sec, int64_t nsec);
  LayerBuilder& Xattr(std::string name, std::string value);

  // The archive's bytes.
  std::string Build(Compression c = Compression::kNone) const;

 private:
  LayerBuilder& Add(TestEntry e);
  std::vector<TestEntry> entries_;
};

// `data` compressed as a layer blob would be (kNone: as it is).
std::string Compress(const std::string& data, Compression c);

// Hands out `data` in pieces of at most `chunk` bytes.
ByteSource StringSource(std::string data, size_t chunk = 4096);

}  // namespace kiln::snapshot::testing
