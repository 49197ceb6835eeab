#include "rpc/wire.h"

#include <gtest/gtest.h>

namespace kiln::rpc {
namespace {

TEST(WireTest, MessagesSplitAcrossChunksComeOutWhole) {
  std::string bytes;
  AppendMessage(bytes, "hello");
  AppendMessage(bytes, "");
  AppendMessage(bytes, std::string(70000, 'x'));
  MessageReader reader(1 << 20);
  std::deque<std::string> out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    size_t n = std::min<size_t>(3, bytes.size() - i);
    ASSERT_TRUE(reader.Feed(reinterpret_cast<const uint8_t*>(bytes.data() + i), n, out));
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], "hello");
  EXPECT_EQ(out[1], "");
  EXPECT_EQ(out[2], std::string(70000, 'x'));
  EXPECT_FALSE(reader.mid_message());
}

TEST(WireTest, OversizedAndCompressedMessagesAreErrors) {
  std::string big;
  AppendMessage(big, std::string(11, 'a'));
  MessageReader small(10);
  std::deque<std::string> out;
  EXPECT_FALSE(small.Feed(reinterpret_cast<const uint8_t*>(big.data()), big.size(), out));
  EXPECT_NE(small.error().find("larger than max (11 vs. 10)"), std::string::npos);

  std::string compressed = big;
  compressed[0] = 1;
  MessageReader r(100);
  EXPECT_FALSE(r.Feed(reinterpret_cast<const uint8_t*>(compressed.data()), compressed.size(), out));
  EXPECT_NE(r.error().find("compressed"), std::string::npos);
  EXPECT_TRUE(out.empty());
}

TEST(WireTest, GrpcMessageIsPercentEncoded) {
  EXPECT_EQ(PercentEncode("a 100% \"done\"\nnext \xc3\xa9"), "a 100%25 \"done\"%0Anext %C3%A9");
  EXPECT_EQ(PercentDecode("a 100%25 \"done\"%0Anext %C3%A9"), "a 100% \"done\"\nnext \xc3\xa9");
  EXPECT_EQ(PercentDecode("bad %zz and %4"), "bad %zz and %4");
}

TEST(WireTest, BinaryHeadersAreUnpaddedBase64AndReadEitherWay) {
  EXPECT_EQ(EncodeBinaryHeader("ab"), "YWI");
  std::string raw;
  ASSERT_TRUE(DecodeBinaryHeader("YWI", &raw));
  EXPECT_EQ(raw, "ab");
  ASSERT_TRUE(DecodeBinaryHeader("YWI=", &raw));
  EXPECT_EQ(raw, "ab");
  EXPECT_FALSE(DecodeBinaryHeader("Y!I", &raw));
}

TEST(WireTest, HttpStatusAndTimeout) {
  EXPECT_EQ(CodeForHttpStatus(404), 12);
  EXPECT_EQ(CodeForHttpStatus(503), 14);
  EXPECT_EQ(CodeForHttpStatus(500), 2);
  EXPECT_EQ(TimeoutHeader(15000), "15000m");
  EXPECT_EQ(TimeoutHeader(0), "1m");
  EXPECT_EQ(TimeoutHeader(int64_t{200000000}), "200000S");
  EXPECT_EQ(ParseTimeoutHeader("15000m"), 15000);
  EXPECT_EQ(ParseTimeoutHeader("2S"), 2000);
  EXPECT_EQ(ParseTimeoutHeader("1500u"), 2);
  EXPECT_EQ(ParseTimeoutHeader("1H"), 3600000);
  EXPECT_EQ(ParseTimeoutHeader("x5m"), -1);
  EXPECT_EQ(ParseTimeoutHeader("5"), -1);
}

}  // namespace
}  // namespace kiln::rpc
