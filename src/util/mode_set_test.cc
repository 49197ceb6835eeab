#include "util/mode_set.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace kiln {
namespace {

struct ApplyCase {
  const char* mode;
  mode_t before;  // st_mode, type included
  mode_t after;   // 07777
};

class ModeSetApplyTest : public ::testing::TestWithParam<ApplyCase> {};

TEST_P(ModeSetApplyTest, GivesTheModeChmodWould) {
  const ApplyCase& c = GetParam();
  Result<ModeSet> ms = ModeSet::Parse(c.mode);
  ASSERT_TRUE(ms.ok()) << c.mode << ": " << ms.status().ToString();
  EXPECT_EQ(ms->Apply(c.before), c.after)
      << c.mode << " on 0" << std::oct << c.before << " gave 0" << ms->Apply(c.before);
}

constexpr mode_t kFile = S_IFREG;
constexpr mode_t kDir = S_IFDIR;

INSTANTIATE_TEST_SUITE_P(
    Modes, ModeSetApplyTest,
    ::testing::Values(
        // Octal replaces everything, special bits included.
        ApplyCase{"0755", kFile | 0644, 0755}, ApplyCase{"755", kFile | 04777, 0755},
        ApplyCase{"4755", kFile | 0600, 04755}, ApplyCase{"0", kDir | 0755, 0},
        // Add and remove for classes.
        ApplyCase{"u+x", kFile | 0644, 0744}, ApplyCase{"go-w", kFile | 0666, 0644},
        ApplyCase{"+x", kFile | 0644, 0755}, ApplyCase{"a+x", kFile | 0600, 0711},
        ApplyCase{"o-rwx", kFile | 0777, 0770}, ApplyCase{"ug+w,o=", kFile | 0644, 0660},
        ApplyCase{"u=rw", kFile | 04755, 0655},
        // '=' with no class clears everything but the sticky bit.
        ApplyCase{"=", kDir | 01777, 01000}, ApplyCase{"=r", kFile | 0755, 0444},
        // X: with '+' and '=', only for directories and already executable files; with '-'
        // it removes x (the dchapes-mode BuildKit vendors).
        ApplyCase{"+X", kFile | 0644, 0644}, ApplyCase{"+X", kFile | 0744, 0755},
        ApplyCase{"+X", kDir | 0600, 0711}, ApplyCase{"a-X", kFile | 0755, 0644},
        ApplyCase{"a=rX", kDir | 0700, 0555}, ApplyCase{"a=rX", kFile | 0700, 0555},
        ApplyCase{"a=rX", kFile | 0600, 0444},
        // Copying another class.
        ApplyCase{"g=u", kFile | 0640, 0660}, ApplyCase{"u=rwx,go=u-w", kFile | 0000, 0755},
        ApplyCase{"o+g", kFile | 0650, 0655}, ApplyCase{"go-u", kFile | 0777, 0700},
        // Special bits.
        ApplyCase{"u+s", kFile | 0755, 04755}, ApplyCase{"g+s", kDir | 0755, 02755},
        ApplyCase{"+s", kFile | 0755, 06755}, ApplyCase{"o+s", kFile | 0755, 0755},
        ApplyCase{"+t", kDir | 0755, 01755}, ApplyCase{"o+t", kDir | 0755, 0755},
        ApplyCase{"u-s", kFile | 06755, 02755},
        // Several actions in one clause.
        ApplyCase{"u+r-w", kFile | 0200, 0400}, ApplyCase{"a+r,u+w,go-w", kFile | 0222, 0644}));

class ModeSetParseTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ModeSetParseTest, RejectsMalformedModes) {
  Result<ModeSet> ms = ModeSet::Parse(GetParam());
  ASSERT_FALSE(ms.ok()) << GetParam();
  EXPECT_EQ(ms.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ms.status().message(),
            "invalid mode \"" + std::string(GetParam()) + "\": invalid syntax");
}

INSTANTIATE_TEST_SUITE_P(Malformed, ModeSetParseTest,
                         ::testing::Values("", "u", "x", "u+q", "0789", "77777", "u+x,", "+x,,u+w",
                                           "ug", "u*x", "8"));

}  // namespace
}  // namespace kiln
