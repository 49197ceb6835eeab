// The overlayfs snapshotter: chains, mounts, whiteouts, repair, layer apply into uppers, and the
// snapshotter choice. Needs root and a kernel with overlayfs; skips with the reason otherwise.

#include "snapshot/overlay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "snapshot/apply.h"
#include "snapshot/overlay_mount.h"
#include "snapshot/testing/layer_builder.h"
#include "snapshot/testing/temp_dir.h"

namespace kiln::snapshot {
namespace {

using testing::Exists;
using testing::LayerBuilder;
using testing::Lstat;
using testing::Names;
using testing::ReadFile;
using testing::StringSource;
using testing::TempDir;
using testing::WriteFile;
using Strings = std::vector<std::string>;

bool IsMountPoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mnt;
    fields >> id >> parent >> dev >> root >> mnt;
    if (mnt == path) return true;
  }
  return false;
}

// 0 when path could be created for writing, else the errno.
int CreateErrno(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

class OverlayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Private mounts: whatever a failing test leaves mounted vanishes with this process.
    if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0) {
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
    }
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "overlayfs tests need root (mount, mknod)";
    auto check = CheckOverlaySupport(root_);
    if (!check.ok()) GTEST_SKIP() << check.status().message();
    Open();
  }

  void Open() {
    sn_.reset();
    auto s = NewOverlaySnapshotter(root_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sn_ = std::move(*s);
  }

  // Prepares key on parent, runs fill(path of a writable mount), commits.
  template <typename F>
  void Layer(const std::string& key, const std::string& parent, F fill, bool commit = true) {
    ASSERT_TRUE(sn_->Prepare(ctx_, key, parent).ok());
    {
      auto m = sn_->MountSnapshot(key, false);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      fill((*m)->path());
    }
    if (commit) {
      ASSERT_TRUE(sn_->Commit(key).ok());
    }
  }

  std::string Upper(const std::string& key) {
    auto u = sn_->UpperDir(key);
    return u.ok() ? u->upper : "<" + u.status().message() + ">";
  }

  Context ctx_ = Context::Background();
  TempDir tmp_;
  std::string root_ = tmp_.Sub("root");
  std::unique_ptr<Snapshotter> sn_;
};

TEST_F(OverlayTest, ThreeLayerChainIsVisibleAndWritesLandInTheUpper) {
  EXPECT_EQ(sn_->name(), "overlayfs");
  Layer("a", "", [](const std::string& p) {
    WriteFile(p + "/f1", "1");
    WriteFile(p + "/x", "from a");
  });
  Layer("b", "a", [](const std::string& p) {
    EXPECT_EQ(ReadFile(p + "/f1"), "1");
    WriteFile(p + "/f2", "2");
    WriteFile(p + "/x", "from b");
  });
  Layer(
      "c", "b", [](const std::string&) {}, /*commit=*/false);
  auto mc = sn_->MountSnapshot("c", false);
  ASSERT_TRUE(mc.ok()) << mc.status().ToString();
  EXPECT_TRUE(IsMountPoint((*mc)->path()));
  EXPECT_EQ(Names((*mc)->path()), (Strings{"f1", "f2", "x"}));
  EXPECT_EQ(ReadFile((*mc)->path() + "/x"), "from b");
  WriteFile((*mc)->path() + "/f3", "3");
  EXPECT_EQ(ReadFile(Upper("c") + "/f3"), "3");
  EXPECT_EQ(Names(Upper("c")), (Strings{"f3"}));
  auto mb = sn_->MountSnapshot("b", true);
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  EXPECT_EQ(Names((*mb)->path()), (Strings{"f1", "f2", "x"}));
  EXPECT_EQ(ReadFile((*mb)->path() + "/x"), "from b");
}

TEST_F(OverlayTest, DeletingThroughTheMountWritesAWhiteoutThatHidesTheLowerFile) {
  Layer("a", "", [](const std::string& p) { WriteFile(p + "/gone", "x"); });
  Layer("b", "a", [](const std::string& p) { ASSERT_EQ(unlink((p + "/gone").c_str()), 0); });
  struct stat st = Lstat(root_ + "/snapshots/2/fs/gone");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  auto m = sn_->MountSnapshot("b", true);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(Exists((*m)->path() + "/gone"));
  auto ma = sn_->MountSnapshot("a", true);
  EXPECT_EQ(ReadFile((*ma)->path() + "/gone"), "x");
}

TEST_F(OverlayTest, ReadonlyMountsAreReadonly) {
  Layer("a", "", [](const std::string& p) { WriteFile(p + "/f", "1"); });
  Layer("b", "a", [](const std::string& p) { WriteFile(p + "/g", "2"); });
  ASSERT_TRUE(sn_->Prepare(ctx_, "active", "").ok());
  for (const char* key : {"a", "b", "active"}) {
    auto m = sn_->MountSnapshot(key, true);
    ASSERT_TRUE(m.ok()) << key << ": " << m.status().ToString();
    EXPECT_TRUE(IsMountPoint((*m)->path())) << key;
    EXPECT_EQ(CreateErrno((*m)->path() + "/new"), EROFS) << key;
  }
  EXPECT_EQ(sn_->MountSnapshot("a", false).status().code(), Code::kFailedPrecondition);
}

TEST_F(OverlayTest, DestroyedMountHandlesLeaveNoMountAndNoMountPoint) {
  Layer("a", "", [](const std::string& p) { WriteFile(p + "/f", "1"); });
  ASSERT_TRUE(sn_->Prepare(ctx_, "b", "a").ok());
  std::vector<std::string> paths;
  {
    auto ro = sn_->MountSnapshot("a", true);
    auto rw = sn_->MountSnapshot("b", false);
    auto ro2 = sn_->MountSnapshot("b", true);
    ASSERT_TRUE(ro.ok() && rw.ok() && ro2.ok());
    for (auto* m : {&ro, &rw, &ro2}) paths.push_back((**m)->path());
    EXPECT_EQ(Names(root_ + "/mounts").size(), 3u);
    // A busy mount (a process's cwd, an open file) is detached instead.
    int busy = open((paths[1] + "/f").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(busy, 0);
    rw->reset();
    char c = 0;
    EXPECT_EQ(pread(busy, &c, 1, 0), 1);  // still readable through the detached mount
    EXPECT_EQ(c, '1');
    close(busy);
  }
  for (const auto& p : paths) {
    EXPECT_FALSE(IsMountPoint(p)) << p;
    EXPECT_FALSE(Exists(p)) << p;
  }
  EXPECT_EQ(Names(root_ + "/mounts"), Strings{});
  // A writable scratch snapshot is its own directory: nothing is mounted for it.
  ASSERT_TRUE(sn_->Prepare(ctx_, "scratch", "").ok());
  auto m = sn_->MountSnapshot("scratch", false);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->path(), Upper("scratch"));
  EXPECT_FALSE(IsMountPoint((*m)->path()));
}

TEST_F(OverlayTest, ReopenKeepsSnapshotsAndRepairsLeftovers) {
  Layer("a", "", [](const std::string& p) { WriteFile(p + "/f", "1"); });
  Layer("b", "a", [](const std::string& p) { WriteFile(p + "/g", "2"); });
  ASSERT_TRUE(sn_->Prepare(ctx_, "c", "b").ok());
  // A crash: a half-prepared snapshot, a broken one, a live mount and a child of a lost parent.
  testing::MakeDirs(root_ + "/snapshots/.tmp-77/fs");
  testing::MakeDirs(root_ + "/snapshots/50/fs");
  WriteFile(root_ + "/snapshots/50/info.json", "{not json");
  testing::MakeDirs(root_ + "/snapshots/60/fs");
  WriteFile(root_ + "/snapshots/60/info.json",
            R"({"id":60,"key":"orphan","parent":"lost","kind":"committed"})");
  testing::MakeDirs(root_ + "/mounts/stale");
  ASSERT_EQ(mount(Upper("c").c_str(), (root_ + "/mounts/stale").c_str(), nullptr, MS_BIND, nullptr),
            0);
  Open();
  auto list = sn_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].key, "c");  // newest (children) first
  EXPECT_FALSE((*list)[0].committed);
  EXPECT_EQ((*list)[1].key, "b");
  EXPECT_EQ((*list)[1].parent, "a");
  EXPECT_TRUE((*list)[1].committed);
  EXPECT_EQ(Names(root_ + "/snapshots"), (Strings{"1", "2", "3"}));
  EXPECT_FALSE(IsMountPoint(root_ + "/mounts/stale"));
  EXPECT_EQ(Names(root_ + "/mounts"), Strings{});
  auto m = sn_->MountSnapshot("b", true);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Names((*m)->path()), (Strings{"f", "g"}));
  ASSERT_TRUE(sn_->Prepare(ctx_, "d", "b").ok());  // a fresh id, not a reused one
  EXPECT_TRUE(Exists(root_ + "/snapshots/61/fs"));
}

TEST_F(OverlayTest, RemoveRefusesSnapshotsWithChildren) {
  Layer("a", "", [](const std::string&) {});
  ASSERT_TRUE(sn_->Prepare(ctx_, "b", "a").ok());
  Status s = sn_->Remove("a");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "snapshot a has 1 child snapshot(s) and cannot be removed");
  ASSERT_TRUE(sn_->Remove("b").ok());
  ASSERT_TRUE(sn_->Remove("a").ok());
  EXPECT_TRUE(sn_->Remove("a").ok());  // already gone
  EXPECT_EQ(Names(root_ + "/snapshots"), Strings{});
}

TEST_F(OverlayTest, DiffDirsNameTheOwnAndParentDirsOfActiveAndCommittedSnapshots) {
  Layer("a", "", [](const std::string& p) { WriteFile(p + "/fa", "a"); });
  Layer("b", "a", [](const std::string& p) { WriteFile(p + "/fb", "b"); });
  Layer(
      "c", "b", [](const std::string& p) { WriteFile(p + "/fc", "c"); }, /*commit=*/false);
  auto b = sn_->DiffDirs("b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(Names(b->upper), Strings{"fb"});
  ASSERT_EQ(b->lowers.size(), 1u);
  EXPECT_EQ(Names(b->lowers[0]), Strings{"fa"});
  auto c = sn_->DiffDirs("c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->upper, Upper("c"));
  EXPECT_EQ(c->lowers, (Strings{b->upper, b->lowers[0]}));
  EXPECT_EQ(Upper("b"), "<snapshot b is committed>");  // UpperDir stays for writers only
  EXPECT_EQ(sn_->DiffDirs("missing").status().code(), Code::kNotFound);
}

TEST_F(OverlayTest, PrepareChecksKeysAndParents) {
  ASSERT_TRUE(sn_->Prepare(ctx_, "active", "").ok());
  EXPECT_EQ(sn_->Prepare(ctx_, "x", "active").code(), Code::kFailedPrecondition);
  EXPECT_EQ(sn_->Prepare(ctx_, "x", "missing").code(), Code::kNotFound);
  EXPECT_EQ(sn_->Prepare(ctx_, "active", "").code(), Code::kAlreadyExists);
  for (const char* bad : {"", "../x", "a/b", ".hidden", "sp ace"}) {
    EXPECT_EQ(sn_->Prepare(ctx_, bad, "").code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(sn_->UpperDir("missing").status().code(), Code::kNotFound);
}

TEST_F(OverlayTest, AppliedLayersShowTheMergedView) {
  auto base = LayerBuilder()
                  .File("a", "a")
                  .File("b", "b")
                  .Dir("d", 0750)
                  .File("d/x", "x")
                  .File("d/sub/y", "y")
                  .File("keep/z", "z")
                  .Build(testing::Compression::kGzip);
  auto top = LayerBuilder()
                 .Whiteout("a")
                 .File("d/new", "new")
                 .Opaque("d")
                 .Hardlink("b2", "b")
                 .Build(testing::Compression::kZstd);
  ASSERT_TRUE(sn_->Prepare(ctx_, "base", "").ok());
  auto r = ApplyLayerToSnapshot(ctx_, *sn_, "base", StringSource(base));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(sn_->Commit("base").ok());
  ASSERT_TRUE(sn_->Prepare(ctx_, "top", "base").ok());
  r = ApplyLayerToSnapshot(ctx_, *sn_, "top", StringSource(top));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(sn_->Commit("top").ok());
  auto m = sn_->MountSnapshot("top", true);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::string p = (*m)->path();
  EXPECT_EQ(Names(p), (Strings{"b", "b2", "d", "keep"}));
  EXPECT_EQ(Names(p + "/d"), (Strings{"new"}));
  EXPECT_EQ(Lstat(p + "/d").st_mode & 07777, 0750u);  // copied from the lower d
  EXPECT_EQ(ReadFile(p + "/keep/z"), "z");
  EXPECT_EQ(ReadFile(p + "/b2"), "b");
  auto mb = sn_->MountSnapshot("base", true);
  EXPECT_EQ(Names((*mb)->path() + "/d"), (Strings{"sub", "x"}));
}

TEST_F(OverlayTest, UsageCountsOnlyTheSnapshotsOwnChanges) {
  Layer("a", "", [](const std::string& p) { WriteFile(p + "/big", std::string(1 << 20, 'a')); });
  Layer("b", "a", [](const std::string& p) { WriteFile(p + "/small", "s"); });
  auto ua = sn_->Usage("a");
  auto ub = sn_->Usage("b");
  ASSERT_TRUE(ua.ok() && ub.ok());
  EXPECT_GE(*ua, 1 << 20);
  EXPECT_LT(*ub, 64 << 10);
}

TEST_F(OverlayTest, LongChainsMountWithRelativeLowerdirs) {
  // 100 absolute lowerdirs under this root would not fit in one mount(2) page.
  const int kLayers = 100;
  ASSERT_GT(kLayers * (root_.size() + 16), kMaxMountData);
  std::string parent;
  for (int i = 0; i < kLayers; i++) {
    std::string key = "l" + std::to_string(i);
    Layer(key, parent, [&](const std::string& p) { WriteFile(p + "/" + key, key); });
    parent = key;
  }
  auto m = sn_->MountSnapshot(parent, true);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Names((*m)->path()).size(), static_cast<size_t>(kLayers));
  EXPECT_EQ(ReadFile((*m)->path() + "/l0"), "l0");
}

TEST(OverlayMountTest, OversizedMountsAreRefusedNotTruncated) {
  OverlaySpec spec;
  spec.base_dir = "/nonexistent";
  spec.lowers.assign(kMaxOverlayLowers + 1, "1/fs");
  EXPECT_EQ(MountOverlay(spec, "/nonexistent/m").code(), Code::kResourceExhausted);
  spec.lowers.assign(300, std::string(20, 'x'));
  Status s = MountOverlay(spec, "/nonexistent/m");
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("more than the 4095 mount(2) accepts"), std::string::npos);
}

TEST_F(OverlayTest, DefaultSnapshotterPicksOverlayAndRemembersTheChoice) {
  TempDir t;
  auto s = NewDefaultSnapshotter(t.Sub("new"), "auto");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->name(), "overlayfs");
  s->reset();
  EXPECT_EQ(NewDefaultSnapshotter(t.Sub("new"), "native").status().code(),
            Code::kFailedPrecondition);
  // A native root from before the marker stays native under "auto".
  auto native = NewNativeSnapshotter(t.Sub("old"));
  ASSERT_TRUE(native.ok());
  ASSERT_TRUE((*native)->Prepare(ctx_, "k", "").ok());
  s = NewDefaultSnapshotter(t.Sub("old"), "auto");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->name(), "native");
  EXPECT_EQ((*s)->List()->size(), 1u);
  EXPECT_EQ(NewDefaultSnapshotter(t.Sub("x"), "zfs").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::snapshot
