#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "snapshot/snapshotter.h"
#include "util/digest.h"
#include "util/fs_copy.h"

namespace kiln::snapshot {

namespace {

class PathMount : public Mount {
 public:
  explicit PathMount(std::string p) : path_(std::move(p)) {}
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<Mount> NewPathMount(std::string path) {
  return std::make_unique<PathMount>(std::move(path));
}

namespace {

bool Exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

Status WriteFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create " + path);
  ssize_t n = write(fd, data.data(), data.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) return ErrnoStatus(err, "write " + path);
  return Status::Ok();
}

std::string ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[512];
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

Status CheckKey(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos || key[0] == '.') {
    return InvalidArgument("invalid snapshot key \"" + key + "\"");
  }
  return Status::Ok();
}

class NativeSnapshotter : public Snapshotter {
 public:
  explicit NativeSnapshotter(std::string root) : root_(std::move(root)) {}

  Status Init() {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) return Internal("create snapshot root " + root_ + ": " + ec.message());
    // Interrupted prepares leave ".tmp-*" dirs; nothing refers to them.
    KILN_ASSIGN_OR_RETURN(auto names, ReadDirNames(root_));
    for (const auto& n : names) {
      if (n.rfind(".tmp-", 0) == 0) KILN_RETURN_IF_ERROR(RemoveAll(root_ + "/" + n));
    }
    return Status::Ok();
  }

  std::string name() const override { return "native"; }

  Status Prepare(const Context& ctx, const std::string& key, const std::string& parent) override {
    KILN_RETURN_IF_ERROR(CheckKey(key));
    std::string dir = root_ + "/" + key;
    if (Exists(dir)) return AlreadyExists("snapshot " + key + " already exists");
    std::string tmp = root_ + "/.tmp-" + key;
    KILN_RETURN_IF_ERROR(RemoveAll(tmp));
    if (mkdir(tmp.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + tmp);
    Status s = Status::Ok();
    if (parent.empty()) {
      if (mkdir((tmp + "/fs").c_str(), 0755) != 0) s = ErrnoStatus(errno, "mkdir " + tmp + "/fs");
    } else {
      KILN_RETURN_IF_ERROR(CheckKey(parent));
      std::string pfs = root_ + "/" + parent + "/fs";
      if (!Exists(pfs)) {
        s = NotFound("parent snapshot " + parent + " does not exist");
      } else {
        s = CopyTree(ctx, pfs, tmp + "/fs", CopyOptions{});
      }
    }
    if (s.ok()) s = WriteFile(tmp + "/parent", parent);
    if (s.ok() && rename(tmp.c_str(), dir.c_str()) != 0) s = ErrnoStatus(errno, "rename " + tmp);
    if (!s.ok()) {
      RemoveAll(tmp).IgnoreError();
      return s.Annotate("prepare snapshot " + key);
    }
    return Status::Ok();
  }

  Status Commit(const std::string& key) override {
    KILN_RETURN_IF_ERROR(CheckKey(key));
    std::string dir = root_ + "/" + key;
    if (!Exists(dir)) return NotFound("snapshot " + key + " does not exist");
    return WriteFile(dir + "/committed", "1");
  }

  Result<std::unique_ptr<Mount>> MountSnapshot(const std::string& key, bool readonly) override {
    KILN_RETURN_IF_ERROR(CheckKey(key));
    std::string fs = root_ + "/" + key + "/fs";
    if (!Exists(fs)) return NotFound("snapshot " + key + " does not exist");
    if (!readonly && Exists(root_ + "/" + key + "/committed")) {
      return FailedPrecondition("snapshot " + key + " is committed and cannot be mounted writable");
    }
    return NewPathMount(fs);
  }

  Status Remove(const std::string& key) override {
    KILN_RETURN_IF_ERROR(CheckKey(key));
    std::string dir = root_ + "/" + key;
    if (!Exists(dir)) return Status::Ok();
    // Rename first so a crash mid-removal leaves a ".tmp-" dir that Init cleans.
    std::string tmp = root_ + "/.tmp-rm-" + key;
    if (rename(dir.c_str(), tmp.c_str()) != 0) return ErrnoStatus(errno, "remove snapshot " + key);
    return RemoveAll(tmp);
  }

  Result<int64_t> Usage(const std::string& key) override {
    KILN_RETURN_IF_ERROR(CheckKey(key));
    std::string fs = root_ + "/" + key + "/fs";
    int64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             fs, std::filesystem::directory_options::none, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      struct stat st;
      if (lstat(it->path().c_str(), &st) == 0) total += static_cast<int64_t>(st.st_blocks) * 512;
    }
    if (ec) return Internal("usage of snapshot " + key + ": " + ec.message());
    return total;
  }

  Result<std::vector<SnapshotInfo>> List() override {
    KILN_ASSIGN_OR_RETURN(auto names, ReadDirNames(root_));
    std::vector<SnapshotInfo> out;
    for (const auto& n : names) {
      if (n.empty() || n[0] == '.') continue;
      SnapshotInfo info;
      info.key = n;
      info.parent = ReadSmallFile(root_ + "/" + n + "/parent");
      info.committed = Exists(root_ + "/" + n + "/committed");
      out.push_back(std::move(info));
    }
    return out;
  }

 private:
  std::string root_;
};

}  // namespace

Result<std::unique_ptr<Snapshotter>> NewNativeSnapshotter(const std::string& root) {
  auto s = std::make_unique<NativeSnapshotter>(root);
  KILN_RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Snapshotter>(std::move(s));
}

}  // namespace kiln::snapshot
