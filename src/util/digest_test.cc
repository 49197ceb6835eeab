#include "util/digest.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(DigestTest, KnownSha256) {
  EXPECT_EQ(Digest::FromBytes("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digest::FromBytes("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, IncrementalEqualsOneShot) {
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.Final(), Digest::FromBytes("abc"));
}

TEST(DigestTest, ParseRejectsMalformed) {
  EXPECT_FALSE(Digest::Parse("sha256:abc").ok());
  EXPECT_FALSE(Digest::Parse("md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").ok());
  EXPECT_FALSE(Digest::Parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855").ok());
  EXPECT_TRUE(Digest::Parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").ok());
}

TEST(DigestTest, FromPartsIsUnambiguous) {
  EXPECT_NE(Digest::FromParts({"ab", "c"}), Digest::FromParts({"a", "bc"}));
}

}  // namespace
}  // namespace kiln
