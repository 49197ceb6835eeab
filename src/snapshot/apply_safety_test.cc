// Layer apply against hostile input: names and links that try to leave the destination,
// corrupt, truncated and garbage streams, failing sources and cancellation.

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "snapshot/apply.h"
#include "snapshot/testing/layer_builder.h"
#include "snapshot/testing/temp_dir.h"
#include "util/fs_copy.h"

namespace kiln::snapshot {
namespace {

using testing::Compression;
using testing::Exists;
using testing::LayerBuilder;
using testing::Lstat;
using testing::Names;
using testing::ReadFile;
using testing::StringSource;
using testing::TempDir;
using Strings = std::vector<std::string>;

// dest is <tmp>/dest; anything else appearing in <tmp> escaped.
class ApplySafetyTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::MakeDirs(dest_); }
  Result<ApplyStats> Apply(const std::string& layer, ApplyMode mode = ApplyMode::kMerged) {
    ApplyOptions opts;
    opts.mode = mode;
    return ApplyLayer(Context::Background(), StringSource(layer, 700), dest_, opts);
  }
  void ExpectNothingOutside() { EXPECT_EQ(Names(tmp_.path()), (Strings{"dest"})); }

  TempDir tmp_;
  std::string dest_ = tmp_.Sub("dest");
};

TEST_F(ApplySafetyTest, DotDotNamesAreRefusedNamingTheEntry) {
  for (const char* name : {"../evil", "a/../../evil", "./../evil", ".."}) {
    auto r = Apply(LayerBuilder().File("ok", "").File(name, "x").Build());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(r.status().message(),
              std::string("layer entry \"") + name + "\": path escapes the snapshot");
    ExpectNothingOutside();
  }
}

TEST_F(ApplySafetyTest, AbsoluteNamesAreRelativeToTheSnapshotAsInContainerd) {
  auto r = Apply(LayerBuilder().File("/abs/file", "x").File("/../up", "y").Build());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dest_ + "/abs/file"), "x");
  EXPECT_EQ(ReadFile(dest_ + "/up"), "y");
  ExpectNothingOutside();
}

TEST_F(ApplySafetyTest, AbsoluteSymlinksInParentPathsResolveInsideTheSnapshot) {
  std::string outside = tmp_.Sub("outside");
  for (ApplyMode mode : {ApplyMode::kMerged, ApplyMode::kOverlay}) {
    ASSERT_TRUE(RemoveAll(dest_).ok());
    testing::MakeDirs(dest_);
    auto layer = LayerBuilder()
                     .Symlink("root", "/")
                     .File("root/via-root", "1")
                     .Symlink("host", outside)  // an absolute host path
                     .File("host/pwned", "3")
                     .Symlink("run", "/var/run-dir")  // as images do: var/run -> /run
                     .File("run/pid", "4")
                     .Build();
    auto r = Apply(layer, mode);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(ReadFile(dest_ + "/via-root"), "1");
    EXPECT_EQ(ReadFile(dest_ + outside + "/pwned"), "3");
    EXPECT_EQ(ReadFile(dest_ + "/var/run-dir/pid"), "4");
    EXPECT_FALSE(Exists(outside));
    ExpectNothingOutside();
  }
}

TEST_F(ApplySafetyTest, RelativeSymlinksClimbingOutAreRefusedNamingTheEntry) {
  testing::WriteFile(tmp_.Sub("precious"), "keep");
  struct Case {
    std::string name;
    LayerBuilder layer;
    std::string want;
  };
  std::vector<Case> cases = {
      {"write", LayerBuilder().Symlink("up", "../../../..").File("up/via-up", "2"),
       "layer entry \"up/via-up\": symlink up points outside the snapshot"},
      {"chain", LayerBuilder().Symlink("up", "../..").Symlink("chain", "up/etc").File("chain/x", "4"),
       "layer entry \"chain/x\": symlink up points outside the snapshot"},
      {"whiteout", LayerBuilder().Symlink("up", "../..").Whiteout("up/precious"),
       "layer entry \"up/.wh.precious\": symlink up points outside the snapshot"},
  };
  for (auto& c : cases) {
    for (ApplyMode mode : {ApplyMode::kMerged, ApplyMode::kOverlay}) {
      ASSERT_TRUE(RemoveAll(dest_).ok());
      testing::MakeDirs(dest_);
      auto r = Apply(c.layer.Build(), mode);
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.name;
      EXPECT_EQ(r.status().message(), c.want) << c.name;
      EXPECT_EQ(ReadFile(tmp_.Sub("precious")), "keep");
      EXPECT_EQ(Names(tmp_.path()), (Strings{"dest", "precious"}));
    }
  }
  unlink(tmp_.Sub("precious").c_str());
}

TEST_F(ApplySafetyTest, OverlayModeFollowsSymlinksOfLowerLayersInsideOnly) {
  std::string lower = tmp_.Sub("lower");
  testing::MakeDirs(lower + "/real");
  ASSERT_EQ(symlink("/real", (lower + "/abs").c_str()), 0);
  ASSERT_EQ(symlink("../../..", (lower + "/rel").c_str()), 0);
  ApplyOptions opts;
  opts.mode = ApplyMode::kOverlay;
  opts.lower_dirs = {lower};
  // Through an absolute link of a lower layer: lands where the merged view has it.
  auto r = ApplyLayer(Context::Background(), StringSource(LayerBuilder().File("abs/f", "1").Build(), 700),
                      dest_, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dest_ + "/real/f"), "1");
  // Through a relative link of a lower layer that climbs out: refused, nothing written.
  ASSERT_TRUE(RemoveAll(dest_).ok());
  testing::MakeDirs(dest_);
  r = ApplyLayer(Context::Background(), StringSource(LayerBuilder().File("rel/x", "2").Build(), 700),
                 dest_, opts);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "layer entry \"rel/x\": symlink rel points outside the snapshot");
  EXPECT_EQ(Names(dest_), Strings{});
  EXPECT_EQ(Names(tmp_.path()), (Strings{"dest", "lower"}));
}

TEST_F(ApplySafetyTest, HardlinkTargetsGetTheSameChecks) {
  auto r = Apply(LayerBuilder().Hardlink("h", "../../etc/passwd").Build());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "layer entry \"h\": hardlink target \"../../etc/passwd\" escapes the snapshot");
  // Through a symlink in the target's parent: resolved inside, so /etc/passwd is not reached.
  r = Apply(LayerBuilder().Symlink("sys", "/etc").Hardlink("h2", "sys/passwd").Build());
  EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
  // To a symlink that points out: the link is to the symlink itself, never its target.
  r = Apply(LayerBuilder().Symlink("lnk", "/etc/passwd").Hardlink("h3", "lnk").Build());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(S_ISLNK(Lstat(dest_ + "/h3").st_mode));
  ExpectNothingOutside();
}

TEST_F(ApplySafetyTest, InvalidWhiteoutNamesAreRefused) {
  auto r = Apply(LayerBuilder().File("a/.wh...", "").Build());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
}

TEST_F(ApplySafetyTest, TruncatedStreamsFailCleanly) {
  LayerBuilder b;
  for (int i = 0; i < 20; i++) b.File("dir/f" + std::to_string(i), std::string(3000, 'a' + i));
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string blob = b.Build(c);
    for (size_t len = 0; len < blob.size(); len += 97) {
      TempDir d;
      auto r =
          ApplyLayer(Context::Background(), StringSource(blob.substr(0, len), 333), d.path(), {});
      if (r.ok()) {
        // Nothing at all is an empty layer; a plain tar cut at a header boundary reads as a
        // shorter archive, as with Go's reader.
        EXPECT_TRUE(len == 0 || c == Compression::kNone) << len;
        continue;
      }
      EXPECT_EQ(r.status().code(), Code::kDataLoss) << len << " " << r.status().ToString();
      EXPECT_NE(r.status().message().find("layer stream is corrupt or truncated"),
                std::string::npos);
    }
  }
  auto r = ApplyLayer(Context::Background(), StringSource(b.Build().substr(0, 7000)), dest_, {});
  EXPECT_NE(r.status().message().find("after entry 2 (\"dir/f1\"), tar offset"), std::string::npos)
      << r.status().ToString();
}

TEST_F(ApplySafetyTest, GarbageAndBitFlipsNeverCrash) {
  std::mt19937 rng(42);
  std::string garbage(5000, '\0');
  for (char& ch : garbage) ch = static_cast<char>(rng());
  auto r = Apply(garbage);
  EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
  for (Compression c : {Compression::kNone, Compression::kGzip}) {
    std::string base = LayerBuilder().File("a", std::string(2000, 'x')).Build(c);
    for (int i = 0; i < 200; i++) {
      std::string mutated = base;
      size_t pos = rng() % mutated.size();
      mutated[pos] = static_cast<char>(mutated[pos] ^ (1 + rng() % 255));
      TempDir d;
      auto m = ApplyLayer(Context::Background(), StringSource(mutated), d.path(), {});
      if (!m.ok()) {
        Code code = m.status().code();
        EXPECT_TRUE(code == Code::kDataLoss || code == Code::kInvalidArgument)
            << m.status().ToString();
      }
    }
  }
  ExpectNothingOutside();
}

TEST_F(ApplySafetyTest, SourceErrorsAndCancellationStopTheApply) {
  std::string blob = LayerBuilder().File("a", std::string(50000, 'x')).Build();
  size_t served = 0;
  ByteSource failing = [&](char* buf, size_t len) -> Result<size_t> {
    if (served > 10000) return Unavailable("registry went away");
    size_t n = std::min({len, size_t{1000}, blob.size() - served});
    blob.copy(buf, n, served);
    served += n;
    return n;
  };
  auto r = ApplyLayer(Context::Background(), failing, dest_, {});
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_EQ(r.status().message(), "layer entry \"a\": registry went away");

  Context ctx = Context::Background().Child();
  ctx.Cancel(Cancelled("build cancelled"));
  r = ApplyLayer(ctx, StringSource(blob), dest_, {});
  EXPECT_EQ(r.status().code(), Code::kCancelled);
}

}  // namespace
}  // namespace kiln::snapshot
