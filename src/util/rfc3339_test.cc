#include "util/rfc3339.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(RFC3339, FormatsAsGoDoes) {
  EXPECT_EQ(FormatRFC3339Nano(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRFC3339Nano(1700000000LL * 1000000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRFC3339Nano(1700000000LL * 1000000000 + 500000000), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(FormatRFC3339Nano(1700000000LL * 1000000000 + 123456789),
            "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(FormatRFC3339Nano(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(RFC3339, ParsesOffsetsAndFractions) {
  EXPECT_EQ(*ParseRFC3339("2023-11-14T22:13:20Z"), 1700000000LL * 1000000000);
  EXPECT_EQ(*ParseRFC3339("2023-11-14T23:13:20+01:00"), 1700000000LL * 1000000000);
  EXPECT_EQ(*ParseRFC3339("2023-11-14T22:13:20.25Z"), 1700000000LL * 1000000000 + 250000000);
  EXPECT_EQ(*ParseRFC3339("1970-01-01T00:00:00.0000000001Z"), 0);  // past ns: cut
  for (int64_t ns : {int64_t{0}, int64_t{1764386231123456789}, int64_t{951782400000000000}}) {
    EXPECT_EQ(*ParseRFC3339(FormatRFC3339Nano(ns)), ns);
  }
}

TEST(RFC3339, RejectsMalformed) {
  for (const char* s :
       {"", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z", "2023-11-14T22:13:20.Z",
        "2023-11-14T22:13:20Zjunk", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20+0100"}) {
    auto r = ParseRFC3339(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("invalid RFC 3339 time"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace kiln
