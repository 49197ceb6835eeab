#pragma once
// Test helpers for fsutil: a temporary directory, small file-creation helpers that abort the
// test on failure, and a textual description of a tree for comparing a source with its copy.
// Not thread-safe; test-only.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::fsutil::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction. Move-only.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644);
std::string ReadFile(const std::string& path);
void MakeDir(const std::string& path, mode_t mode = 0755);
void MakeSymlink(const std::string& target, const std::string& path);
void MakeHardlink(const std::string& existing, const std::string& path);
void MakeFifo(const std::string& path, mode_t mode = 0600);
void SetMtime(const std::string& path, int64_t sec, int64_t nsec);
// Sets a user.* xattr; false if the filesystem does not support them.
bool TrySetXattr(const std::string& path, const std::string& name, const std::string& value);
ino_t Inode(const std::string& path);
bool Exists(const std::string& path);

// A pseudo-random content of n bytes (deterministic per seed).
std::string Content(size_t n, int seed);

// One line per entry below root, in sorted order: path, type, permission bits, owner, size,
// mtime (ns), symlink target, content digest, xattrs, and which earlier path a hardlink shares
// its inode with. The root itself is not described.
std::vector<std::string> DescribeTree(const std::string& root, bool with_owner = true);

}  // namespace kiln::fsutil::testing
