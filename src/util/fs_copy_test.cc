#include "util/fs_copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kiln {
namespace {

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::kiln::Status s_ = (expr);                             \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)

// A scratch directory under /tmp (ext4 here: user.* xattrs work), removed afterwards.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln-fscopy-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

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

std::string GetXattr(const std::string& path, const std::string& name) {
  char buf[256];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof(buf));
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

void SetTimes(const std::string& path, time_t sec, long nsec) {
  struct timespec ts[2] = {{sec - 100, nsec / 2}, {sec, nsec}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

bool IsRoot() { return geteuid() == 0; }

// One kept property: how to check it on the source/destination pair.
struct PropertyCase {
  std::string name;
  bool needs_root;
  std::function<void(const std::string& src, const std::string& dst)> check;
};

void PrintTo(const PropertyCase& r, std::ostream* os) { *os << r.name; }

// Builds one source tree holding every property, copies it once, and checks each row.
class CopyTreeKeepsTest : public ::testing::TestWithParam<PropertyCase> {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    std::string s = tmp_->path() + "/src";
    mkdir(s.c_str(), 0755);
    std::string big(3u << 20, '\0');
    for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>((i * 7919) >> 3);
    WriteFile(s + "/big", big);
    WriteFile(s + "/f", "hello world\n");
    WriteFile(s + "/suid", "#!/bin/sh\n", 04755);
    mkdir((s + "/sgid").c_str(), 0755);
    chmod((s + "/sgid").c_str(), 02755);
    mkdir((s + "/sticky").c_str(), 0777);
    chmod((s + "/sticky").c_str(), 01777);
    mkdir((s + "/xdir").c_str(), 0750);
    setxattr((s + "/xdir").c_str(), "user.dir", "dv", 2, 0);
    setxattr((s + "/f").c_str(), "user.file", "fv", 2, 0);
    link((s + "/f").c_str(), (s + "/hl").c_str());
    symlink("f", (s + "/link").c_str());
    symlink("/nonexistent/target", (s + "/dangling").c_str());
    mkfifo((s + "/fifo").c_str(), 0640);
    mkdir((s + "/timed").c_str(), 0755);
    WriteFile(s + "/timed/child", "c");
    SetTimes(s + "/timed/child", 1500000000, 987654321);
    SetTimes(s + "/timed", 1600000000, 123456789);
    if (IsRoot()) {
      WriteFile(s + "/owned", "o");
      lchown((s + "/owned").c_str(), 1234, 5678);
      symlink("owned", (s + "/owned_link").c_str());
      lchown((s + "/owned_link").c_str(), 4321, 8765);
      mknod((s + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
    }
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::string sock_path = s + "/sock";
    if (sock_path.size() < sizeof(addr.sun_path)) {
      memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
      bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    }
    close(sock);
    SetTimes(s + "/f", 1700000000, 111111111);
    copy_status_ = new Status(CopyTree(Context::Background(), s, tmp_->path() + "/dst", {}));
  }
  static void TearDownTestSuite() {
    delete copy_status_;
    delete tmp_;
  }
  static TempDir* tmp_;
  static Status* copy_status_;
};
TempDir* CopyTreeKeepsTest::tmp_ = nullptr;
Status* CopyTreeKeepsTest::copy_status_ = nullptr;

TEST_P(CopyTreeKeepsTest, Property) {
  ASSERT_OK(*copy_status_);
  if (GetParam().needs_root && !IsRoot()) GTEST_SKIP() << "needs root (chown, mknod)";
  GetParam().check(tmp_->path() + "/src", tmp_->path() + "/dst");
}

INSTANTIATE_TEST_SUITE_P(
    AllProperties, CopyTreeKeepsTest,
    ::testing::Values(PropertyCase{"Content", false,
                                   [](const std::string& s, const std::string& d) {
                                     EXPECT_EQ(ReadFile(d + "/f"), "hello world\n");
                                     EXPECT_EQ(ReadFile(d + "/big"), ReadFile(s + "/big"));
                                   }},
                      PropertyCase{"Setuid04755", false,
                                   [](const std::string&, const std::string& d) {
                                     EXPECT_EQ(Lstat(d + "/suid").st_mode & 07777, 04755u);
                                   }},
                      PropertyCase{"SetgidDir02755", false,
                                   [](const std::string&, const std::string& d) {
                                     EXPECT_EQ(Lstat(d + "/sgid").st_mode & 07777, 02755u);
                                   }},
                      PropertyCase{"StickyDir01777", false,
                                   [](const std::string&, const std::string& d) {
                                     EXPECT_EQ(Lstat(d + "/sticky").st_mode & 07777, 01777u);
                                   }},
                      PropertyCase{"OwnerOnFileAndSymlink", true,
                                   [](const std::string&, const std::string& d) {
                                     struct stat f = Lstat(d + "/owned");
                                     EXPECT_EQ(f.st_uid, 1234u);
                                     EXPECT_EQ(f.st_gid, 5678u);
                                     struct stat l = Lstat(d + "/owned_link");
                                     EXPECT_TRUE(S_ISLNK(l.st_mode));
                                     EXPECT_EQ(l.st_uid, 4321u);
                                     EXPECT_EQ(l.st_gid, 8765u);
                                   }},
                      PropertyCase{"NanosecondTimesOnFileAndDir", false,
                                   [](const std::string&, const std::string& d) {
                                     struct stat f = Lstat(d + "/f");
                                     EXPECT_EQ(f.st_mtim.tv_sec, 1700000000);
                                     EXPECT_EQ(f.st_mtim.tv_nsec, 111111111);
                                     struct stat dir = Lstat(d + "/timed");
                                     EXPECT_EQ(dir.st_mtim.tv_sec, 1600000000);
                                     EXPECT_EQ(dir.st_mtim.tv_nsec, 123456789);
                                     struct stat child =
                                         Lstat(d + "/timed/child");  // never read: atime kept
                                     EXPECT_EQ(child.st_mtim.tv_nsec, 987654321);
                                     EXPECT_EQ(child.st_atim.tv_sec, 1500000000 - 100);
                                     EXPECT_EQ(child.st_atim.tv_nsec, 987654321 / 2);
                                   }},
                      PropertyCase{"UserXattrOnDirAndFile", false,
                                   [](const std::string&, const std::string& d) {
                                     EXPECT_EQ(GetXattr(d + "/xdir", "user.dir"), "dv");
                                     EXPECT_EQ(GetXattr(d + "/f", "user.file"), "fv");
                                     EXPECT_EQ(Lstat(d + "/xdir").st_mode & 07777, 0750u);
                                   }},
                      PropertyCase{"HardlinkPairStaysLinked", false,
                                   [](const std::string& s, const std::string& d) {
                                     struct stat a = Lstat(d + "/f");
                                     struct stat b = Lstat(d + "/hl");
                                     EXPECT_EQ(a.st_ino, b.st_ino);
                                     EXPECT_EQ(a.st_nlink, 2u);
                                     EXPECT_NE(a.st_ino, Lstat(s + "/f").st_ino);
                                   }},
                      PropertyCase{"SymlinkTargets", false,
                                   [](const std::string&, const std::string& d) {
                                     char buf[256];
                                     ssize_t n = readlink((d + "/link").c_str(), buf, sizeof(buf));
                                     EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "f");
                                     n = readlink((d + "/dangling").c_str(), buf, sizeof(buf));
                                     EXPECT_EQ(std::string(buf, n > 0 ? n : 0),
                                               "/nonexistent/target");
                                   }},
                      PropertyCase{"Fifo", false,
                                   [](const std::string&, const std::string& d) {
                                     struct stat st = Lstat(d + "/fifo");
                                     EXPECT_TRUE(S_ISFIFO(st.st_mode));
                                     EXPECT_EQ(st.st_mode & 07777, 0640u);
                                   }},
                      PropertyCase{"CharDevice1_3", true,
                                   [](const std::string&, const std::string& d) {
                                     struct stat st = Lstat(d + "/null");
                                     EXPECT_TRUE(S_ISCHR(st.st_mode));
                                     EXPECT_EQ(major(st.st_rdev), 1u);
                                     EXPECT_EQ(minor(st.st_rdev), 3u);
                                   }},
                      PropertyCase{"SocketSkipped", false,
                                   [](const std::string& s, const std::string& d) {
                                     EXPECT_TRUE(S_ISSOCK(Lstat(s + "/sock").st_mode));
                                     EXPECT_NE(access((d + "/sock").c_str(), F_OK), 0);
                                   }}),
    [](const ::testing::TestParamInfo<PropertyCase>& info) { return info.param.name; });

// Every entry of a and b below rel, compared on what CopyTree keeps; regular files of b must
// be hard links to src's.
void ExpectSameTree(const std::string& a, const std::string& b, const std::string& src,
                    const std::string& rel) {
  auto names = ReadDirNames(a + rel);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  auto names_b = ReadDirNames(b + rel);
  ASSERT_TRUE(names_b.ok()) << names_b.status().ToString();
  EXPECT_EQ(*names, *names_b) << rel;
  for (const std::string& n : *names) {
    std::string r = rel + "/" + n;
    struct stat x = Lstat(a + r), y = Lstat(b + r);
    EXPECT_EQ(x.st_mode, y.st_mode) << r;
    EXPECT_EQ(x.st_uid, y.st_uid) << r;
    EXPECT_EQ(x.st_gid, y.st_gid) << r;
    EXPECT_EQ(x.st_rdev, y.st_rdev) << r;
    EXPECT_EQ(x.st_mtim.tv_sec, y.st_mtim.tv_sec) << r;
    EXPECT_EQ(x.st_mtim.tv_nsec, y.st_mtim.tv_nsec) << r;
    auto xa = ReadXattrs(a + r), xb = ReadXattrs(b + r);
    ASSERT_TRUE(xa.ok() && xb.ok()) << r;
    EXPECT_EQ(*xa, *xb) << r;
    if (S_ISREG(x.st_mode)) {
      EXPECT_EQ(y.st_ino, Lstat(src + r).st_ino) << r << " is not a link to the source";
    } else {
      EXPECT_NE(y.st_ino, Lstat(src + r).st_ino) << r << " must be made anew";
    }
    if (S_ISLNK(x.st_mode)) {
      char p[256], q[256];
      ssize_t n1 = readlink((a + r).c_str(), p, sizeof(p));
      ssize_t n2 = readlink((b + r).c_str(), q, sizeof(q));
      EXPECT_EQ(std::string(p, n1 > 0 ? n1 : 0), std::string(q, n2 > 0 ? n2 : 0)) << r;
    }
    if (S_ISDIR(x.st_mode)) ExpectSameTree(a, b, src, r);
  }
}

TEST_F(CopyTreeKeepsTest, LinkTreeKeepsTheSameButLinksFiles) {
  ASSERT_OK(*copy_status_);
  std::string s = tmp_->path() + "/src", d = tmp_->path() + "/lnk";
  ASSERT_OK(LinkTree(Context::Background(), s, d));
  ExpectSameTree(tmp_->path() + "/dst", d, s, "");
  struct stat root_copy = Lstat(tmp_->path() + "/dst"), root_link = Lstat(d);
  EXPECT_EQ(root_copy.st_mode, root_link.st_mode);
  EXPECT_EQ(root_copy.st_mtim.tv_nsec, root_link.st_mtim.tv_nsec);
}

TEST(LinkTreeTest, FillsAnExistingEmptyDirAndTakesTheSourceRootMetadata) {
  TempDir t;
  std::string s = t.path() + "/src", d = t.path() + "/dst";
  mkdir(s.c_str(), 0751);
  setxattr(s.c_str(), "user.root", "r", 1, 0);
  mkdir((s + "/a").c_str(), 0500);  // read-only: children are added before its mode
  mkdir((s + "/a/b").c_str(), 0755);
  WriteFile(s + "/a/b/f", "x", 0400);
  chmod((s + "/a").c_str(), 0500);
  mkdir(d.c_str(), 0700);
  setxattr(d.c_str(), "user.stale", "x", 1, 0);
  ASSERT_OK(LinkTree(Context::Background(), s, d));
  EXPECT_EQ(ReadFile(d + "/a/b/f"), "x");
  EXPECT_EQ(Lstat(d + "/a").st_mode & 07777, 0500u);
  EXPECT_EQ(Lstat(d).st_mode & 07777, 0751u);
  EXPECT_EQ(GetXattr(d, "user.root"), "r");
  EXPECT_EQ(GetXattr(d, "user.stale"), "<none>");
  chmod((s + "/a").c_str(), 0755);
  chmod((d + "/a").c_str(), 0755);
}

TEST(LinkTreeTest, ErrorsNameThePathAndCancellationStops) {
  TempDir t;
  std::string s = t.path() + "/src", d = t.path() + "/dst";
  Status missing = LinkTree(Context::Background(), s, d);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find(s), std::string::npos) << missing.ToString();
  mkdir(s.c_str(), 0755);
  EXPECT_FALSE(LinkTree(Context::Background(), s, s).ok());
  for (int i = 0; i < 600; i++) WriteFile(s + "/f" + std::to_string(i), "x");
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("stop"));
  EXPECT_FALSE(LinkTree(ctx, s, d).ok());
  // Not empty: a name that exists in dst is an error, not silently kept.
  RemoveAll(d).IgnoreError();
  mkdir(d.c_str(), 0755);
  WriteFile(d + "/f1", "old");
  Status clash = LinkTree(Context::Background(), s, d);
  EXPECT_FALSE(clash.ok());
  EXPECT_NE(clash.message().find("f1"), std::string::npos) << clash.ToString();
}

TEST(CopyTreeTest, MergesIntoExistingDirAndReplacesNonDirs) {
  TempDir t;
  std::string s = t.path() + "/src", d = t.path() + "/dst";
  mkdir(s.c_str(), 0755);
  mkdir((s + "/sub").c_str(), 0711);
  WriteFile(s + "/sub/new", "new");
  WriteFile(s + "/was_dir", "file now");
  mkdir((s + "/was_file").c_str(), 0755);
  mkdir(d.c_str(), 0700);
  mkdir((d + "/sub").c_str(), 0777);
  setxattr((d + "/sub").c_str(), "user.stale", "x", 1, 0);
  WriteFile(d + "/sub/keep", "kept");
  WriteFile(d + "/sub/new", "old");
  mkdir((d + "/was_dir").c_str(), 0755);
  WriteFile(d + "/was_dir/inner", "gone");
  WriteFile(d + "/was_file", "gone");
  ASSERT_OK(CopyTree(Context::Background(), s, d, {}));
  EXPECT_EQ(ReadFile(d + "/sub/keep"), "kept");
  EXPECT_EQ(ReadFile(d + "/sub/new"), "new");
  EXPECT_EQ(Lstat(d + "/sub").st_mode & 07777, 0711u);
  EXPECT_EQ(GetXattr(d + "/sub", "user.stale"), "<none>");
  EXPECT_EQ(Lstat(d).st_mode & 07777, 0755u);
  EXPECT_EQ(ReadFile(d + "/was_dir"), "file now");
  EXPECT_TRUE(S_ISDIR(Lstat(d + "/was_file").st_mode));
}

TEST(CopyTreeTest, LinkFilesSharesInodesButMakesDirsAnew) {
  TempDir t;
  std::string s = t.path() + "/src", d = t.path() + "/dst";
  mkdir(s.c_str(), 0755);
  mkdir((s + "/sub").c_str(), 0750);
  WriteFile(s + "/sub/f", "content", 0640);
  CopyOptions o;
  o.link_files = true;
  ASSERT_OK(CopyTree(Context::Background(), s, d, o));
  EXPECT_EQ(Lstat(d + "/sub/f").st_ino, Lstat(s + "/sub/f").st_ino);
  EXPECT_NE(Lstat(d + "/sub").st_ino, Lstat(s + "/sub").st_ino);
  EXPECT_EQ(Lstat(d + "/sub").st_mode & 07777, 0750u);
  // With an override the content is copied, never linked.
  std::string d2 = t.path() + "/dst2";
  o.mode = 0600;
  ASSERT_OK(CopyTree(Context::Background(), s, d2, o));
  EXPECT_NE(Lstat(d2 + "/sub/f").st_ino, Lstat(s + "/sub/f").st_ino);
  EXPECT_EQ(ReadFile(d2 + "/sub/f"), "content");
}

TEST(CopyTreeTest, OverridesApplyToEveryEntry) {
  TempDir t;
  std::string s = t.path() + "/src", d = t.path() + "/dst";
  mkdir(s.c_str(), 0755);
  mkdir((s + "/dir").c_str(), 0700);
  WriteFile(s + "/dir/f", "x", 0600);
  symlink("dir/f", (s + "/link").c_str());
  CopyOptions opts;
  if (IsRoot()) {
    opts.uid = 1000;
    opts.gid = 2000;
  }
  opts.mode = 0754;
  opts.timestamp_ns = 1234567890123456789;
  ASSERT_OK(CopyTree(Context::Background(), s, d, opts));
  for (std::string p : {d, d + "/dir", d + "/dir/f", d + "/link"}) {
    struct stat st = Lstat(p);
    if (IsRoot()) {
      EXPECT_EQ(st.st_uid, 1000u) << p;
      EXPECT_EQ(st.st_gid, 2000u) << p;
    }
    if (!S_ISLNK(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0754u) << p;
    }
    EXPECT_EQ(st.st_mtim.tv_sec, 1234567890) << p;
    EXPECT_EQ(st.st_mtim.tv_nsec, 123456789) << p;
    EXPECT_EQ(st.st_atim.tv_nsec, 123456789) << p;
  }
}

TEST(CopyTreeTest, FilterSkipsEntriesAndCreatesParentsOnlyForMatches) {
  TempDir t;
  std::string s = t.path() + "/src", d = t.path() + "/dst";
  mkdir(s.c_str(), 0755);
  mkdir((s + "/a").c_str(), 0701);
  mkdir((s + "/a/deep").c_str(), 0755);
  mkdir((s + "/empty").c_str(), 0755);
  mkdir((s + "/pruned").c_str(), 0755);
  WriteFile(s + "/a/deep/x.txt", "x");
  WriteFile(s + "/a/y.bin", "y");
  WriteFile(s + "/empty/z.bin", "z");
  WriteFile(s + "/pruned/w.txt", "w");
  CopyOptions opts;
  opts.filter = [](std::string_view rel, bool is_dir) {
    return !is_dir && rel.size() > 4 && rel.substr(rel.size() - 4) == ".txt";
  };
  opts.may_contain_matches = [](std::string_view rel) { return rel != "pruned"; };
  ASSERT_OK(CopyTree(Context::Background(), s, d, opts));
  EXPECT_EQ(ReadFile(d + "/a/deep/x.txt"), "x");
  EXPECT_EQ(Lstat(d + "/a").st_mode & 07777, 0701u);
  EXPECT_NE(access((d + "/a/y.bin").c_str(), F_OK), 0);
  EXPECT_NE(access((d + "/empty").c_str(), F_OK), 0);
  EXPECT_NE(access((d + "/pruned").c_str(), F_OK), 0);
}

TEST(CopyTreeTest, StopsWhenCancelled) {
  TempDir t;
  std::string s = t.path() + "/src";
  mkdir(s.c_str(), 0755);
  WriteFile(s + "/f", "x");
  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("build cancelled by user"));
  Status st = CopyTree(ctx, s, t.path() + "/dst", {});
  EXPECT_EQ(st.code(), Code::kCancelled);
  EXPECT_EQ(st.message(), "build cancelled by user");
}

TEST(CopyTreeTest, RefusesToCopyIntoItself) {
  TempDir t;
  std::string s = t.path() + "/src";
  mkdir(s.c_str(), 0755);
  WriteFile(s + "/f", "x");
  Status st = CopyTree(Context::Background(), s, s + "/inner", {});
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("into itself"), std::string::npos) << st.message();
  EXPECT_EQ(CopyTree(Context::Background(), s, s, {}).code(), Code::kInvalidArgument);
}

TEST(CopyTreeTest, MissingSourceNamesThePath) {
  TempDir t;
  Status st = CopyTree(Context::Background(), t.path() + "/nope", t.path() + "/dst", {});
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_NE(st.message().find(t.path() + "/nope"), std::string::npos) << st.message();
}

TEST(CopyFileTest, CopiesOneFileWithMetadataAndRejectsSymlinks) {
  TempDir t;
  std::string s = t.path() + "/f";
  WriteFile(s, "content", 0640);
  setxattr(s.c_str(), "user.k", "v", 1, 0);
  SetTimes(s, 1000, 5);
  WriteFile(t.path() + "/out", "previous");
  ASSERT_OK(CopyFile(Context::Background(), s, t.path() + "/out", {}));
  EXPECT_EQ(ReadFile(t.path() + "/out"), "content");
  EXPECT_EQ(GetXattr(t.path() + "/out", "user.k"), "v");
  EXPECT_EQ(Lstat(t.path() + "/out").st_mode & 07777, 0640u);
  EXPECT_EQ(Lstat(t.path() + "/out").st_mtim.tv_nsec, 5);
  symlink("f", (t.path() + "/l").c_str());
  EXPECT_EQ(CopyFile(Context::Background(), t.path() + "/l", t.path() + "/o2", {}).code(),
            Code::kInvalidArgument);
}

TEST(RemoveAllTest, RemovesReadOnlyDirsWithoutFollowingSymlinks) {
  TempDir t;
  std::string outside = t.path() + "/outside";
  mkdir(outside.c_str(), 0755);
  WriteFile(outside + "/precious", "p");
  std::string victim = t.path() + "/victim";
  mkdir(victim.c_str(), 0755);
  mkdir((victim + "/ro").c_str(), 0755);
  WriteFile(victim + "/ro/f", "f");
  chmod((victim + "/ro").c_str(), 0500);
  symlink(outside.c_str(), (victim + "/link").c_str());
  ASSERT_OK(RemoveAll(victim));
  EXPECT_NE(access(victim.c_str(), F_OK), 0);
  EXPECT_EQ(ReadFile(outside + "/precious"), "p");
  ASSERT_OK(RemoveAll(victim));  // already gone is fine
}

TEST(ReadXattrsTest, SortedByName) {
  TempDir t;
  std::string f = t.path() + "/f";
  WriteFile(f, "");
  setxattr(f.c_str(), "user.b", "2", 1, 0);
  setxattr(f.c_str(), "user.a", "", 0, 0);
  Result<std::vector<Xattr>> x = ReadXattrs(f);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  std::vector<Xattr> user;
  for (const Xattr& e : *x) {
    if (e.name.rfind("user.", 0) == 0) user.push_back(e);
  }
  EXPECT_EQ(user, (std::vector<Xattr>{{"user.a", ""}, {"user.b", "2"}}));
}

}  // namespace
}  // namespace kiln
