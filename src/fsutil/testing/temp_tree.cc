#include "fsutil/testing/temp_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "fsutil/xattr.h"

namespace kiln::fsutil::testing {

namespace {

void Check(bool ok, const std::string& what) {
  if (!ok) {
    ADD_FAILURE() << what << ": " << std::strerror(errno);
    std::abort();
  }
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/kiln-fsutil-XXXXXX";
  Check(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  // Make everything writable first so that read-only directories can be emptied.
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0700);
  }
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  Check(fd >= 0, "create " + path);
  Check(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()),
        "write " + path);
  Check(fchmod(fd, mode) == 0, "chmod " + path);
  close(fd);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void MakeDir(const std::string& path, mode_t mode) {
  Check(mkdir(path.c_str(), 0700) == 0, "mkdir " + path);
  Check(chmod(path.c_str(), mode) == 0, "chmod " + path);
}

void MakeSymlink(const std::string& target, const std::string& path) {
  Check(symlink(target.c_str(), path.c_str()) == 0, "symlink " + path);
}

void MakeHardlink(const std::string& existing, const std::string& path) {
  Check(link(existing.c_str(), path.c_str()) == 0, "link " + path);
}

void MakeFifo(const std::string& path, mode_t mode) {
  Check(mkfifo(path.c_str(), mode) == 0, "mkfifo " + path);
  Check(chmod(path.c_str(), mode) == 0, "chmod " + path);
}

void SetMtime(const std::string& path, int64_t sec, int64_t nsec) {
  timespec ts[2] = {{static_cast<time_t>(sec), static_cast<long>(nsec)},
                    {static_cast<time_t>(sec), static_cast<long>(nsec)}};
  Check(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0, "utimensat " + path);
}

bool TrySetXattr(const std::string& path, const std::string& name, const std::string& value) {
  return lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0;
}

ino_t Inode(const std::string& path) {
  struct stat st;
  Check(lstat(path.c_str(), &st) == 0, "lstat " + path);
  return st.st_ino;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string Content(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u + static_cast<uint32_t>(seed);
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

std::vector<std::string> DescribeTree(const std::string& root, bool with_owner) {
  std::vector<std::string> paths;
  std::function<void(const std::string&)> collect = [&](const std::string& rel) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root + "/" + rel, ec)) {
      std::string child =
          rel.empty() ? e.path().filename().string() : rel + "/" + e.path().filename().string();
      paths.push_back(child);
      if (e.is_directory(ec) && !e.is_symlink(ec)) collect(child);
    }
  };
  collect("");
  std::sort(paths.begin(), paths.end());
  std::map<std::pair<dev_t, ino_t>, std::string> first_link;
  std::vector<std::string> out;
  for (const std::string& rel : paths) {
    const std::string host = root + "/" + rel;
    struct stat st;
    Check(lstat(host.c_str(), &st) == 0, "lstat " + host);
    std::ostringstream line;
    line << rel << " type=" << (st.st_mode & S_IFMT) << " perm=" << std::oct << (st.st_mode & 07777)
         << std::dec;
    if (with_owner) line << " owner=" << st.st_uid << ":" << st.st_gid;
    line << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    if (S_ISREG(st.st_mode)) {
      line << " size=" << st.st_size << " hash=" << std::hash<std::string>{}(ReadFile(host));
      if (st.st_nlink > 1) {
        auto [it, inserted] = first_link.try_emplace({st.st_dev, st.st_ino}, rel);
        if (!inserted) line << " hardlink=" << it->second;
      }
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = readlink(host.c_str(), buf, sizeof(buf));
      line << " target=" << std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    }
    auto xattrs = internal::ReadXattrs(host);
    if (xattrs.ok()) {
      for (const auto& [k, v] : *xattrs) line << " xattr:" << k << "=" << v;
    }
    out.push_back(line.str());
  }
  return out;
}

}  // namespace kiln::fsutil::testing
