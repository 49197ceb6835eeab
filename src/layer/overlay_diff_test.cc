// The overlayfs differ through WriteSnapshotDiff: changes made through real overlay mounts,
// read back from the snapshot's upper dir, applied onto the parent's tree and compared with the
// snapshot's tree; the same bytes as the walking differ where both apply; opaque directories,
// copy-ups without a change, hardlinks to lower files, the fallback to walking. Needs root and a
// kernel with overlayfs; skips with the reason otherwise.

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "layer/layer_diff.h"
#include "layer/testing/layer_testing.h"
#include "snapshot/apply.h"
#include "snapshot/overlay.h"
#include "snapshot/testing/layer_builder.h"
#include "snapshot/testing/temp_dir.h"
#include "util/fs_copy.h"

namespace kiln::layer {
namespace {

using snapshot::testing::MakeDirs;
using snapshot::testing::TempDir;
using snapshot::testing::WriteFile;
using testing::DescribeTree;
using testing::EntryList;
using Strings = std::vector<std::string>;

class OverlayDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Private mounts: whatever a failing test leaves mounted vanishes with this process.
    if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0) {
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
    }
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "overlayfs tests need root (mount, mknod)";
    auto check = snapshot::CheckOverlaySupport(root_);
    if (!check.ok()) GTEST_SKIP() << check.status().message();
    auto s = snapshot::NewOverlaySnapshotter(root_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sn_ = std::move(*s);
  }

  // Prepares key on parent, runs fill(path of a writable mount), commits unless told not to.
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

  std::string SnapshotDiff(const std::string& key, const std::string& parent) {
    std::string tar;
    auto r = WriteSnapshotDiff(ctx_, *sn_, key, parent, {}, [&tar](std::string_view d) {
      tar.append(d);
      return Status::Ok();
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) stats_ = *r;
    return tar;
  }

  // The walking differ over read-only mounts of both snapshots.
  std::string WalkDiff(const std::string& key, const std::string& parent) {
    auto lower = sn_->MountSnapshot(parent, true);
    auto upper = sn_->MountSnapshot(key, true);
    KILN_CHECK(lower.ok() && upper.ok());
    std::string tar;
    auto r =
        WriteTreeDiff(ctx_, (*lower)->path(), (*upper)->path(), {}, [&tar](std::string_view d) {
          tar.append(d);
          return Status::Ok();
        });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return tar;
  }

  // Applies tar onto a copy of parent's tree; the result must describe as key's tree does.
  void ExpectApplyGives(const std::string& tar, const std::string& key, const std::string& parent) {
    std::string applied = tmp_.Sub("applied");
    ASSERT_TRUE(RemoveAll(applied).ok());
    {
      auto p = sn_->MountSnapshot(parent, true);
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE(CopyTree(ctx_, (*p)->path(), applied, {}).ok());
    }
    auto r = snapshot::ApplyLayer(ctx_, snapshot::testing::StringSource(tar), applied, {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto m = sn_->MountSnapshot(key, true);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(DescribeTree(applied), DescribeTree((*m)->path()));
  }

  std::string Upper(const std::string& key) {
    auto d = sn_->DiffDirs(key);
    KILN_CHECK(d.ok());
    return d->upper;
  }

  Context ctx_ = Context::Background();
  TempDir tmp_;
  std::string root_ = tmp_.Sub("root");
  std::unique_ptr<snapshot::Snapshotter> sn_;
  DiffStats stats_;
};

TEST_F(OverlayDiffTest, ChangesMadeThroughTheMountAreReadFromTheUpperDirAndApplyBack) {
  Layer("base", "", [](const std::string& p) {
    WriteFile(p + "/a", "a");
    WriteFile(p + "/b", "bb");
    MakeDirs(p + "/d");
    WriteFile(p + "/d/x", "x");
    WriteFile(p + "/d/y", "y");
    MakeDirs(p + "/e/f");
    WriteFile(p + "/e/f/g", "g");
    MakeDirs(p + "/keep");
    WriteFile(p + "/keep/k", "k");
    WriteFile(p + "/keep/same", "same");
    ASSERT_EQ(symlink("a", (p + "/sym").c_str()), 0);
  });
  Layer("child", "base", [](const std::string& p) {
    WriteFile(p + "/n", "new");
    WriteFile(p + "/a", "AAAA");
    ASSERT_EQ(chmod((p + "/b").c_str(), 0600), 0);
    ASSERT_EQ(unlink((p + "/d/x").c_str()), 0);
    ASSERT_TRUE(RemoveAll(p + "/e").ok());
    MakeDirs(p + "/newdir/sub");
    WriteFile(p + "/newdir/sub/file", "file");
    ASSERT_EQ(unlink((p + "/sym").c_str()), 0);
    ASSERT_EQ(symlink("b", (p + "/sym").c_str()), 0);
    ASSERT_EQ(lchown((p + "/keep/k").c_str(), 1000, 1000), 0);
    // Copied up without a change: in the upper dir, not in the layer.
    ASSERT_EQ(lchown((p + "/keep/same").c_str(), 0, 0), 0);
  });
  struct stat st;
  ASSERT_EQ(lstat((Upper("child") + "/keep/same").c_str(), &st), 0) << "expected a copy-up";
  std::string tar = SnapshotDiff("child", "base");
  EXPECT_TRUE(stats_.overlay);
  EXPECT_EQ(EntryList(tar),
            (Strings{"a f", "b f", "d/ d", "d/.wh.x f", ".wh.e f", "keep/ d", "keep/k f", "n f",
                     "newdir/ d", "newdir/sub/ d", "newdir/sub/file f", "sym l -> b"}));
  ExpectApplyGives(tar, "child", "base");
  EXPECT_TRUE(tar == WalkDiff("child", "base")) << "the walking differ wrote other bytes";
}

TEST_F(OverlayDiffTest, AnOpaqueDirectoryGetsTheMarkerInsteadOfWhiteoutsForItsOldChildren) {
  Layer("base", "", [](const std::string& p) {
    MakeDirs(p + "/d/sub");
    WriteFile(p + "/d/x", "x");
    WriteFile(p + "/d/sub/y", "y");
  });
  Layer("child", "base", [](const std::string& p) {
    ASSERT_TRUE(RemoveAll(p + "/d").ok());
    MakeDirs(p + "/d");
    WriteFile(p + "/d/new", "new");
  });
  ASSERT_TRUE(snapshot::testing::GetXattr(Upper("child") + "/d", "trusted.overlay.opaque"))
      << "expected overlayfs to make d opaque";
  std::string tar = SnapshotDiff("child", "base");
  EXPECT_TRUE(stats_.overlay);
  EXPECT_EQ(EntryList(tar), (Strings{"d/ d", "d/.wh..wh..opq f", "d/new f"}));
  EXPECT_EQ(stats_.whiteouts, 1);
  ExpectApplyGives(tar, "child", "base");
  // The walking differ says the same with one whiteout per old child.
  std::string walked = WalkDiff("child", "base");
  EXPECT_EQ(EntryList(walked), (Strings{"d/ d", "d/new f", "d/.wh.sub f", "d/.wh.x f"}));
  ExpectApplyGives(walked, "child", "base");
}

TEST_F(OverlayDiffTest, WhatALayerCreatesAndDeletesLeavesNothing) {
  Layer("base", "", [](const std::string& p) { WriteFile(p + "/keep", "k"); });
  Layer("child", "base", [](const std::string& p) {
    WriteFile(p + "/tmp", "t");
    ASSERT_EQ(unlink((p + "/tmp").c_str()), 0);
  });
  // A whiteout device for a name the parent does not have hides nothing.
  ASSERT_EQ(mknod((Upper("child") + "/ghost").c_str(), S_IFCHR, makedev(0, 0)), 0);
  std::string tar = SnapshotDiff("child", "base");
  EXPECT_TRUE(stats_.overlay);
  EXPECT_EQ(EntryList(tar), Strings{});
}

TEST_F(OverlayDiffTest, ALinkToALowerFileLinksTheCopiedUpFile) {
  Layer("base", "", [](const std::string& p) { WriteFile(p + "/old", "shared"); });
  Layer("child", "base", [](const std::string& p) {
    ASSERT_EQ(link((p + "/old").c_str(), (p + "/new").c_str()), 0);
  });
  std::string tar = SnapshotDiff("child", "base");
  EXPECT_TRUE(stats_.overlay);
  EXPECT_EQ(EntryList(tar), (Strings{"new f", "old h -> new"}));
  ExpectApplyGives(tar, "child", "base");
}

TEST_F(OverlayDiffTest, ActiveSnapshotsAndBaseLayersUseTheUpperDirToo) {
  Layer("base", "", [](const std::string& p) {
    MakeDirs(p + "/etc");
    WriteFile(p + "/etc/conf", "c");
  });
  std::string tar = SnapshotDiff("base", "");
  EXPECT_TRUE(stats_.overlay);
  EXPECT_EQ(EntryList(tar), (Strings{"etc/ d", "etc/conf f"}));
  Layer(
      "active", "base", [](const std::string& p) { WriteFile(p + "/etc/more", "m"); },
      /*commit=*/false);
  tar = SnapshotDiff("active", "base");
  EXPECT_TRUE(stats_.overlay);
  EXPECT_EQ(EntryList(tar), (Strings{"etc/ d", "etc/more f"}));
}

TEST_F(OverlayDiffTest, AParentFurtherDownTheChainIsDiffedByWalking) {
  Layer("a", "", [](const std::string& p) { WriteFile(p + "/fa", "a"); });
  Layer("b", "a", [](const std::string& p) { WriteFile(p + "/fb", "b"); });
  Layer("c", "b", [](const std::string& p) {
    WriteFile(p + "/fc", "c");
    ASSERT_EQ(unlink((p + "/fa").c_str()), 0);
  });
  std::string tar = SnapshotDiff("c", "a");
  EXPECT_FALSE(stats_.overlay);
  EXPECT_EQ(EntryList(tar), (Strings{".wh.fa f", "fb f", "fc f"}));
  ExpectApplyGives(tar, "c", "a");
}

TEST_F(OverlayDiffTest, ARedirectedDirectoryIsRefused) {
  Layer("base", "", [](const std::string& p) { MakeDirs(p + "/d"); });
  Layer("child", "base", [](const std::string& p) { MakeDirs(p + "/moved"); });
  ASSERT_EQ(lsetxattr((Upper("child") + "/moved").c_str(), "trusted.overlay.redirect", "/d", 2, 0),
            0);
  auto r = WriteSnapshotDiff(ctx_, *sn_, "child", "base", {},
                             [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "diff of snapshot child against snapshot base: overlay diff: directory moved was "
            "renamed with redirect_dir, which the differ cannot follow");
}

}  // namespace
}  // namespace kiln::layer
