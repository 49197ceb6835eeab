#include "snapshot/testing/temp_dir.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "util/check.h"
#include "util/fs_copy.h"

namespace kiln::snapshot::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/kiln-snaptest-XXXXXX";
  KILN_CHECK(mkdtemp(tmpl) != nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() { RemoveAll(path_).IgnoreError(); }

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

struct stat Lstat(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) std::memset(&st, 0, sizeof(st));
  return st;
}

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return "<missing>";
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

void WriteFile(const std::string& path, const std::string& data, mode_t perm) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, perm);
  KILN_CHECK(fd >= 0);
  KILN_CHECK(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  close(fd);
  KILN_CHECK(chmod(path.c_str(), perm) == 0);
}

void MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  KILN_CHECK(!ec);
}

std::vector<std::string> Names(const std::string& dir) {
  auto names = ReadDirNames(dir);
  return names.ok() ? *names : std::vector<std::string>{};
}

std::optional<std::string> GetXattr(const std::string& path, const std::string& name) {
  char buf[4096];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof(buf));
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace kiln::snapshot::testing
