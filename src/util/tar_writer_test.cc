#include "util/tar_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace kiln {
namespace {

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::kiln::Status s_ = (expr);                             \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln-tar-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool IsRoot() { return geteuid() == 0; }

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  chmod(path.c_str(), mode);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st;
}

void SetMtime(const std::string& path, time_t sec, long nsec) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// Runs a shell command; returns its stdout, or "<exit N>" appended on failure.
std::string RunShell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) out += "<exit " + std::to_string(rc) + ">";
  return out;
}

Status WriteTarFile(const std::string& root, const TarOptions& opts, const std::string& out) {
  std::ofstream f(out, std::ios::binary);
  return WriteTreeTar(Context::Background(), root, opts, [&f](std::string_view b) {
    f.write(b.data(), static_cast<std::streamsize>(b.size()));
    return f ? Status::Ok() : Internal("write tar file");
  });
}

std::string Archive(const std::string& root, const TarOptions& opts = {}) {
  std::string out;
  Status s = WriteTreeTar(Context::Background(), root, opts, [&out](std::string_view b) {
    out.append(b);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

const std::string kLongDir = "long/" + std::string(120, 'd');
const std::string kLongFile = kLongDir + "/" + std::string(140, 'e');  // > 255: PAX path
const std::string kSplitFile = "long/" + std::string(80, 'x') + "/" + std::string(90, 'y');
const std::string kLongTarget = std::string(150, 't');

// A tree with one of everything the writer must represent.
void BuildTree(const std::string& r) {
  mkdir((r + "/a").c_str(), 0755);
  chmod((r + "/a").c_str(), 02755);
  WriteFile(r + "/a/f", "hello\n");
  setxattr((r + "/a/f").c_str(), "user.k", "v\001bin", 5, 0);
  link((r + "/a/f").c_str(), (r + "/a/hl").c_str());
  symlink("f", (r + "/a/link").c_str());
  WriteFile(r + "/a-b", "sibling sorted after a's children");
  mkfifo((r + "/fifo").c_str(), 0600);
  mkdir((r + "/long").c_str(), 0755);
  mkdir((r + "/" + kLongDir).c_str(), 0755);
  WriteFile(r + "/" + kLongFile, "deep");
  mkdir((r + "/long/" + std::string(80, 'x')).c_str(), 0755);
  WriteFile(r + "/" + kSplitFile, "split");
  symlink(kLongTarget.c_str(), (r + "/longlink").c_str());
  if (IsRoot()) {
    mknod((r + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
    WriteFile(r + "/owned", "o");
    chown((r + "/owned").c_str(), 1234, 5678);
  }
  WriteFile(r + "/suid", "s", 04755);
  mkdir((r + "/sticky").c_str(), 0777);
  chmod((r + "/sticky").c_str(), 01777);
  SetMtime(r + "/a/f", 1600000000, 123456789);
  SetMtime(r + "/a", 1500000000, 5);
}

TEST(TarWriterTest, GnuTarListsEntriesDepthFirstSorted) {
  TempDir t;
  std::string src = t.path() + "/src";
  mkdir(src.c_str(), 0755);
  BuildTree(src);
  ASSERT_OK(WriteTarFile(src, {}, t.path() + "/out.tar"));
  std::vector<std::string> want = {
      "a/",       "a/f",     "a/hl",         "a/link",  "a-b",
      "fifo",     "long/",   kLongDir + "/", kLongFile, "long/" + std::string(80, 'x') + "/",
      kSplitFile, "longlink"};
  if (IsRoot()) {
    want.push_back("null");
    want.push_back("owned");
  }
  want.push_back("sticky/");
  want.push_back("suid");
  std::string expected;
  for (const auto& w : want) expected += w + "\n";
  EXPECT_EQ(RunShell("tar -tf " + t.path() + "/out.tar"), expected);
  std::string verbose = RunShell("tar --numeric-owner -tvf " + t.path() + "/out.tar");
  EXPECT_NE(verbose.find("a/hl link to a/f"), std::string::npos) << verbose;
  EXPECT_NE(verbose.find("longlink -> " + kLongTarget), std::string::npos) << verbose;
}

TEST(TarWriterTest, GnuTarExtractsEveryProperty) {
  TempDir t;
  std::string src = t.path() + "/src", out = t.path() + "/out";
  mkdir(src.c_str(), 0755);
  mkdir(out.c_str(), 0755);
  BuildTree(src);
  ASSERT_OK(WriteTarFile(src, {}, t.path() + "/out.tar"));
  ASSERT_EQ(RunShell("tar --xattrs --xattrs-include='user.*' --same-owner --numeric-owner -xpf " +
                     t.path() + "/out.tar -C " + out),
            "");
  EXPECT_EQ(ReadFile(out + "/a/f"), "hello\n");
  EXPECT_EQ(ReadFile(out + "/" + kLongFile), "deep");
  EXPECT_EQ(ReadFile(out + "/" + kSplitFile), "split");
  EXPECT_EQ(Lstat(out + "/a").st_mode & 07777, 02755u);
  EXPECT_EQ(Lstat(out + "/suid").st_mode & 07777, 04755u);
  EXPECT_EQ(Lstat(out + "/sticky").st_mode & 07777, 01777u);
  EXPECT_EQ(Lstat(out + "/a/f").st_ino, Lstat(out + "/a/hl").st_ino);
  char buf[256];
  ssize_t n = readlink((out + "/longlink").c_str(), buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), kLongTarget);
  n = lgetxattr((out + "/a/f").c_str(), "user.k", buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), std::string("v\001bin"));
  struct stat f = Lstat(out + "/a/f");
  EXPECT_EQ(f.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(f.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(Lstat(out + "/a").st_mtim.tv_sec, 1500000000);
  EXPECT_TRUE(S_ISFIFO(Lstat(out + "/fifo").st_mode));
  if (IsRoot()) {
    struct stat null = Lstat(out + "/null");
    EXPECT_TRUE(S_ISCHR(null.st_mode));
    EXPECT_EQ(null.st_rdev, makedev(1, 3));
    EXPECT_EQ(Lstat(out + "/owned").st_uid, 1234u);
    EXPECT_EQ(Lstat(out + "/owned").st_gid, 5678u);
  }
}

TEST(TarWriterTest, OutputIsDeterministicAndSurvivesCopyTree) {
  TempDir t;
  std::string src = t.path() + "/src", copy = t.path() + "/copy";
  mkdir(src.c_str(), 0755);
  BuildTree(src);
  ASSERT_OK(CopyTree(Context::Background(), src, copy, {}));
  std::string first = Archive(src);
  EXPECT_EQ(first.size() % 512, 0u);
  EXPECT_EQ(Archive(src), first);
  EXPECT_EQ(Archive(copy), first);  // other inodes and dirs, same archive
}

TEST(TarWriterTest, OverridesOwnersAndClampsMtimes) {
  TempDir t;
  std::string src = t.path() + "/src", out = t.path() + "/out";
  mkdir(src.c_str(), 0755);
  mkdir(out.c_str(), 0755);
  WriteFile(src + "/new", "n");
  WriteFile(src + "/old", "o");
  SetMtime(src + "/new", 2000000000, 7);
  SetMtime(src + "/old", 1000000000, 0);
  TarOptions opts;
  opts.uid = 42;
  opts.gid = 43;
  opts.clamp_mtime_ns = int64_t{1500000000} * 1000000000;
  ASSERT_OK(WriteTarFile(src, opts, t.path() + "/out.tar"));
  std::string listing = RunShell("tar --numeric-owner -tvf " + t.path() + "/out.tar");
  EXPECT_NE(listing.find("42/43"), std::string::npos) << listing;
  ASSERT_EQ(RunShell("tar -xpf " + t.path() + "/out.tar -C " + out), "");
  EXPECT_EQ(Lstat(out + "/new").st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(Lstat(out + "/new").st_mtim.tv_nsec, 0);
  EXPECT_EQ(Lstat(out + "/old").st_mtim.tv_sec, 1000000000);
}

TEST(TarWriterTest, LargeSizesAndIdsGoToPaxRecords) {
  std::string out;
  TarWriter w([&out](std::string_view b) {
    out.append(b);
    return Status::Ok();
  });
  TarHeader h;
  h.name = "big";
  h.size = int64_t{10} << 30;
  h.uid = 1u << 22;
  h.mtime_sec = 1;
  h.mtime_nsec = 500000000;
  ASSERT_OK(w.WriteHeader(h));
  EXPECT_NE(out.find("20 size=10737418240\n"), std::string::npos);
  EXPECT_NE(out.find("15 uid=4194304\n"), std::string::npos);
  EXPECT_NE(out.find("13 mtime=1.5\n"), std::string::npos);
  EXPECT_EQ(out.substr(0, 16), "PaxHeaders.0/big");
  ASSERT_OK(w.WriteData("abc"));
  Status s = w.Close();  // content is short of the promised size
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("big"), std::string::npos) << s.message();
}

TEST(TarWriterTest, SinkErrorAndCancellationStopTheWalk) {
  TempDir t;
  WriteFile(t.path() + "/f", "x");
  Status s = WriteTreeTar(Context::Background(), t.path(), {},
                          [](std::string_view) { return Unavailable("client went away"); });
  EXPECT_EQ(s.code(), Code::kUnavailable);
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("stop"));
  s = WriteTreeTar(ctx, t.path(), {}, [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(WriteTreeTar(Context::Background(), t.path() + "/f", {},
                         [](std::string_view) { return Status::Ok(); })
                .code(),
            Code::kInvalidArgument);
}

TEST(TarWriterTest, HeaderFromStatAndWriteFileForSingleEntries) {
  TempDir t;
  WriteFile(t.path() + "/f", "content", 04750);
  SetMtime(t.path() + "/f", 1600000000, 0);  // no PAX record: the content follows the header
  ASSERT_EQ(symlink("target/x", (t.path() + "/l").c_str()), 0);
  ASSERT_EQ(mkdir((t.path() + "/d").c_str(), 0700), 0);
  TarHeader h;
  ASSERT_OK(TarHeaderFromStat(t.path() + "/f", "f", Lstat(t.path() + "/f"), &h));
  EXPECT_EQ(h.type, TarType::kRegular);
  EXPECT_EQ(h.mode, 04750u);
  EXPECT_EQ(h.size, 7);
  ASSERT_OK(TarHeaderFromStat(t.path() + "/l", "l", Lstat(t.path() + "/l"), &h));
  EXPECT_EQ(h.type, TarType::kSymlink);
  EXPECT_EQ(h.linkname, "target/x");
  EXPECT_EQ(h.size, 0);
  ASSERT_OK(TarHeaderFromStat(t.path() + "/d", "d", Lstat(t.path() + "/d"), &h));
  EXPECT_EQ(h.type, TarType::kDir);
  EXPECT_EQ(h.name, "d/");
  EXPECT_EQ(h.linkname, "");

  std::string out;
  TarWriter w([&out](std::string_view b) {
    out.append(b);
    return Status::Ok();
  });
  ASSERT_OK(TarHeaderFromStat(t.path() + "/f", "f", Lstat(t.path() + "/f"), &h));
  ASSERT_OK(w.WriteFile(Context::Background(), h, t.path() + "/f"));
  ASSERT_OK(w.Close());
  EXPECT_EQ(out.substr(512, 7), "content");
  // A file shorter than its header says is DataLoss, naming it.
  TarWriter w2([](std::string_view) { return Status::Ok(); });
  h.size = 100;
  Status s = w2.WriteFile(Context::Background(), h, t.path() + "/f");
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_EQ(s.message(), "tar: " + t.path() + "/f shrank while being archived");
}

}  // namespace
}  // namespace kiln
