#include "fsutil/filemode.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace kiln::fsutil {
namespace {

TEST(FileModeTest, ConvertsEachTypeLikeGo) {
  EXPECT_EQ(GoFileMode(S_IFREG | 0644), 0644u);
  EXPECT_EQ(GoFileMode(S_IFDIR | 0755), 0x80000000u | 0755);
  EXPECT_EQ(GoFileMode(S_IFLNK | 0777), 0x08000000u | 0777);
  EXPECT_EQ(GoFileMode(S_IFIFO | 0600), 0x02000000u | 0600);
  EXPECT_EQ(GoFileMode(S_IFSOCK | 0755), 0x01000000u | 0755);
  EXPECT_EQ(GoFileMode(S_IFBLK | 0660), 0x04000000u | 0660);
  EXPECT_EQ(GoFileMode(S_IFCHR | 0666), 0x04000000u | 0x00200000u | 0666);
}

TEST(FileModeTest, ConvertsSpecialBits) {
  EXPECT_EQ(GoFileMode(S_IFREG | S_ISUID | 0755), 0x00800000u | 0755);
  EXPECT_EQ(GoFileMode(S_IFREG | S_ISGID | 0755), 0x00400000u | 0755);
  EXPECT_EQ(GoFileMode(S_IFDIR | S_ISVTX | 0777), 0x80000000u | 0x00100000u | 0777);
  EXPECT_EQ(PosixPermissions(0x00800000u | 0x00400000u | 0x00100000u | 0755),
            static_cast<mode_t>(S_ISUID | S_ISGID | S_ISVTX | 0755));
}

TEST(FileModeTest, RoundTripsEveryType) {
  for (mode_t type : {S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFBLK, S_IFCHR}) {
    for (mode_t perm : {0, 0644, 0755, 04755, 02750, 01777, 07777}) {
      mode_t m = type | perm;
      EXPECT_EQ(PosixMode(GoFileMode(m)), m) << std::oct << m;
    }
  }
}

TEST(FileModeTest, RegularMeansNoTypeBits) {
  EXPECT_TRUE(IsRegular(0644 | kModeSetuid));
  EXPECT_FALSE(IsRegular(kModeDir | 0755));
  EXPECT_FALSE(IsRegular(kModeIrregular | 0644));
  EXPECT_EQ(kModeType, 0x8f280000u);
  EXPECT_EQ(PosixMode(kModeIrregular | 0644), static_cast<mode_t>(S_IFREG | 0644));
}

}  // namespace
}  // namespace kiln::fsutil
