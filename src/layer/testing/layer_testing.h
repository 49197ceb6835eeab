#pragma once
// Test helpers for the layer module: describing trees so that a layer applied onto the parent
// can be compared with the snapshot it came from, reading a layer tar back, running the system
// tools (gzip, zstd, tar, sha256sum, umoci) the tests check against. Not thread-safe; test-only.

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/layer_reader.h"

namespace kiln::layer::testing {

// One line per entry below root (root itself left out), depth first with sorted names: path,
// type, permission bits, uid:gid, size, mtime in whole seconds (directories too), content
// digest, symlink target, device number, the xattrs whose names start with one of
// `xattr_prefixes`, and the first earlier path that shares the inode (hardlinks).
std::vector<std::string> DescribeTree(const std::string& root,
                                      const std::vector<std::string>& xattr_prefixes = {
                                          "user.", "security.capability"});

// The entries of an uncompressed or compressed layer, read with the snapshot module's reader.
std::vector<snapshot::LayerEntry> ReadEntries(const std::string& blob);
// "name type" per entry ("f" file, "d" dir, "l" symlink -> target, "h" hardlink -> target,
// "c"/"b" device, "p" fifo), in archive order.
std::vector<std::string> EntryList(const std::string& blob);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};
// Runs `sh -c command`.
CommandResult RunCommand(const std::string& command);
bool HaveTool(const std::string& name);

// "sha256:<hex>" of a file's bytes, computed by the system's sha256sum.
std::string Sha256sum(const std::string& path);
void WriteBytes(const std::string& path, const std::string& data);

// n deterministic bytes: a mix of incompressible noise and repetitive text (seeded).
std::string MixedData(size_t n, uint32_t seed);

}  // namespace kiln::layer::testing
