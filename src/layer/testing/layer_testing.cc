#include "layer/testing/layer_testing.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "snapshot/testing/temp_dir.h"
#include "util/check.h"
#include "util/digest.h"
#include "util/fs_copy.h"

namespace kiln::layer::testing {
namespace {

struct Describer {
  const std::vector<std::string>& prefixes;
  std::map<std::pair<dev_t, ino_t>, std::string> first;
  std::vector<std::string> lines;

  void Walk(const std::string& root, const std::string& rel) {
    auto names = ReadDirNames(rel.empty() ? root : root + "/" + rel);
    KILN_CHECK(names.ok());
    for (const std::string& n : *names) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      std::string p = root + "/" + r;
      struct stat st;
      KILN_CHECK(lstat(p.c_str(), &st) == 0);
      char buf[128];
      snprintf(buf, sizeof(buf), " mode=%04o owner=%u:%u mtime=%lld", st.st_mode & 07777, st.st_uid,
               st.st_gid, static_cast<long long>(st.st_mtim.tv_sec));
      std::string line = r + buf;
      if (S_ISREG(st.st_mode)) {
        line += " file size=" + std::to_string(st.st_size) + " " +
                Digest::FromBytes(snapshot::testing::ReadFile(p)).str().substr(7, 12);
      } else if (S_ISDIR(st.st_mode)) {
        line += " dir";
      } else if (S_ISLNK(st.st_mode)) {
        char t[4096];
        ssize_t n2 = readlink(p.c_str(), t, sizeof(t));
        line += " symlink -> " + std::string(t, n2 > 0 ? static_cast<size_t>(n2) : 0);
      } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        line += std::string(S_ISCHR(st.st_mode) ? " char " : " block ") +
                std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
      } else if (S_ISFIFO(st.st_mode)) {
        line += " fifo";
      } else {
        line += " other";
      }
      auto xattrs = ReadXattrs(p);
      KILN_CHECK(xattrs.ok());
      for (const Xattr& x : *xattrs) {
        for (const std::string& pre : prefixes) {
          if (x.name.rfind(pre, 0) == 0) {
            line += " xattr:" + x.name + "=" + Digest::FromBytes(x.value).str().substr(7, 8);
            break;
          }
        }
      }
      if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        auto [it, inserted] = first.emplace(std::make_pair(st.st_dev, st.st_ino), r);
        if (!inserted) line += " same-inode-as " + it->second;
      }
      lines.push_back(line);
      if (S_ISDIR(st.st_mode)) Walk(root, r);
    }
  }
};

}  // namespace

std::vector<std::string> DescribeTree(const std::string& root,
                                      const std::vector<std::string>& xattr_prefixes) {
  Describer d{xattr_prefixes, {}, {}};
  d.Walk(root, "");
  return d.lines;
}

std::vector<snapshot::LayerEntry> ReadEntries(const std::string& blob) {
  size_t pos = 0;
  snapshot::LayerReader r([&blob, &pos](char* buf, size_t len) -> Result<size_t> {
    size_t n = std::min(len, blob.size() - pos);
    memcpy(buf, blob.data() + pos, n);
    pos += n;
    return n;
  });
  std::vector<snapshot::LayerEntry> out;
  for (;;) {
    snapshot::LayerEntry e;
    auto more = r.Next(&e);
    KILN_CHECK(more.ok());
    if (!*more) break;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> EntryList(const std::string& blob) {
  std::vector<std::string> out;
  for (const snapshot::LayerEntry& e : ReadEntries(blob)) {
    std::string line = e.name + " ";
    if (!e.hardlink.empty()) {
      line += "h -> " + e.hardlink;
    } else if (e.type == S_IFREG) {
      line += "f";
    } else if (e.type == S_IFDIR) {
      line += "d";
    } else if (e.type == S_IFLNK) {
      line += "l -> " + e.symlink;
    } else if (e.type == S_IFCHR) {
      line += "c";
    } else if (e.type == S_IFBLK) {
      line += "b";
    } else if (e.type == S_IFIFO) {
      line += "p";
    }
    out.push_back(line);
  }
  return out;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool HaveTool(const std::string& name) {
  return RunCommand("command -v " + name + " >/dev/null").exit_code == 0;
}

std::string Sha256sum(const std::string& path) {
  CommandResult r = RunCommand("sha256sum '" + path + "'");
  KILN_CHECK(r.exit_code == 0 && r.out.size() >= 64);
  return "sha256:" + r.out.substr(0, 64);
}

void WriteBytes(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  KILN_CHECK(fd >= 0);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    KILN_CHECK(n > 0);
    off += static_cast<size_t>(n);
  }
  close(fd);
}

std::string MixedData(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  static const char* kWords[] = {"layer ", "kiln ",      "snapshot ",    "gzip ",
                                 "zstd ",  "whiteout\n", "{\"a\": 1}\n", "0123456789 "};
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    size_t run = 1000 + rng() % 60000;
    if (rng() % 3 == 0) {
      for (size_t i = 0; i < run && out.size() < n; i++) out.push_back(static_cast<char>(rng()));
    } else {
      while (run > 0 && out.size() < n) {
        std::string_view w = kWords[rng() % 8];
        out.append(w.substr(0, std::min(w.size(), n - out.size())));
        run -= std::min(run, w.size());
      }
    }
  }
  return out;
}

}  // namespace kiln::layer::testing
