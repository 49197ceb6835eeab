#pragma once
// Test helpers for the FileOp tests: scratch roots under /tmp and one-line file fixtures.
// Header-only; for tests only.

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "util/fs_copy.h"
#include "util/status.h"

#define KILN_ASSERT_OK(expr)                                \
  do {                                                      \
    ::kiln::Status s_ = (expr);                             \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)

namespace kiln::llbsolver::file::testing {

// A scratch directory, removed with everything in it on destruction. Not copyable: the copies
// would remove the same directory twice.
class TempRoot {
 public:
  TempRoot() {
    char tmpl[] = "/tmp/kiln-fileop-XXXXXX";
    const char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p != nullptr ? p : "/nonexistent";
  }
  TempRoot(const TempRoot&) = delete;
  TempRoot& operator=(const TempRoot&) = delete;
  ~TempRoot() { RemoveAll(path_).IgnoreError(); }

  const std::string& path() const { return path_; }
  // Host path of an in-root path ("/a/b").
  std::string operator/(const std::string& rel) const {
    return rel.empty() || rel == "/" ? path_ : path_ + (rel[0] == '/' ? "" : "/") + rel;
  }

 private:
  std::string path_;
};

inline void MakeDirs(const std::string& p, mode_t mode = 0755) {
  std::string cur;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    cur = p.substr(0, j);
    i = j + 1;
    if (!cur.empty()) mkdir(cur.c_str(), mode);
  }
  chmod(p.c_str(), mode);
}

// Writes content to p (creating parent directories) with the given mode.
inline void WriteFile(const std::string& p, const std::string& content, mode_t mode = 0644) {
  size_t slash = p.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    struct stat st;
    if (stat(p.substr(0, slash).c_str(), &st) != 0) MakeDirs(p.substr(0, slash));
  }
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  chmod(p.c_str(), mode);
}

inline std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

inline struct stat Lstat(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(lstat(p.c_str(), &st), 0) << p;
  return st;
}

inline mode_t Perm(const std::string& p) { return Lstat(p).st_mode & 07777; }

inline std::string ReadLink(const std::string& p) {
  char buf[4096];
  ssize_t n = readlink(p.c_str(), buf, sizeof(buf));
  return n < 0 ? "<not a link>" : std::string(buf, static_cast<size_t>(n));
}

// Everything under dir, sorted, one string per entry relative to dir: "d/" for a directory,
// "f=content" for a file, "l->target" for a symlink, "p?" for anything else.
inline std::vector<std::string> Tree(const std::string& dir, const std::string& rel = "") {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    std::string p = dir + "/" + n;
    std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      out.push_back(r + "/");
      std::vector<std::string> sub = Tree(p, r);
      out.insert(out.end(), sub.begin(), sub.end());
    } else if (S_ISREG(st.st_mode)) {
      out.push_back(r + "=" + ReadFile(p));
    } else if (S_ISLNK(st.st_mode)) {
      out.push_back(r + "->" + ReadLink(p));
    } else {
      out.push_back(r + "?");
    }
  }
  return out;
}

// Runs a shell command (for tar fixtures); fails the test on a non-zero exit.
inline void Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << cmd;
}

inline bool IsRoot() { return geteuid() == 0; }

}  // namespace kiln::llbsolver::file::testing
