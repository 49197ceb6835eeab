#pragma once
// Test helpers for snapshot tests: a temporary directory removed at the end, and small readers
// of what landed on disk. Not thread-safe.

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

namespace kiln::snapshot::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;  // one owner removes it
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

bool Exists(const std::string& path);
struct stat Lstat(const std::string& path);  // zeroed when missing
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data, mode_t perm = 0644);
void MakeDirs(const std::string& path);
// Names in dir, sorted; empty when missing.
std::vector<std::string> Names(const std::string& dir);
std::optional<std::string> GetXattr(const std::string& path, const std::string& name);

}  // namespace kiln::snapshot::testing
