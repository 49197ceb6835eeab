// The compressors: gzip checked with the real gzip tool, zstd with the real zstd tool, the same
// bytes for any thread count and any way the input is split, hashes equal to sha256sum's.

#include "layer/compress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "layer/testing/layer_testing.h"
#include "snapshot/testing/temp_dir.h"

namespace kiln::layer {
namespace {

using testing::MixedData;
using testing::RunCommand;
using testing::Sha256sum;
using testing::WriteBytes;

struct Output {
  std::string bytes;
  CompressResult result;
};

// Compresses input in pieces of `chunk` bytes.
Output Compress(const std::string& input, CompressOptions opts, size_t chunk = 65536) {
  Output o;
  auto c = NewCompressor(Context::Background(), opts, [&o](std::string_view d) {
    o.bytes.append(d);
    return Status::Ok();
  });
  KILN_CHECK(c.ok());
  for (size_t off = 0; off < input.size(); off += chunk) {
    Status s = (*c)->Write(std::string_view(input).substr(off, chunk));
    KILN_CHECK(s.ok());
  }
  auto r = (*c)->Finish();
  KILN_CHECK(r.ok());
  o.result = *r;
  return o;
}

CompressOptions Gzip(int threads, std::optional<int> level = std::nullopt) {
  CompressOptions o;
  o.type = Compression::kGzip;
  o.threads = threads;
  o.level = level;
  return o;
}

CompressOptions Zstd(int threads) {
  CompressOptions o;
  o.type = Compression::kZstd;
  o.threads = threads;
  return o;
}

class CompressTest : public ::testing::Test {
 protected:
  // The output of `tool -dc` (or why it failed) for bytes written to a temp file.
  std::string Decompress(const std::string& tool, const std::string& bytes) {
    std::string f = tmp_.Sub("blob");
    WriteBytes(f, bytes);
    auto r = RunCommand(tool + " -dc < '" + f + "'");
    return r.exit_code == 0 ? r.out : "<" + tool + " failed: " + r.out + ">";
  }
  int GzipTest(const std::string& bytes) {
    std::string f = tmp_.Sub("blob.gz");
    WriteBytes(f, bytes);
    return RunCommand("gzip -t '" + f + "'").exit_code;
  }

  snapshot::testing::TempDir tmp_;
};

TEST_F(CompressTest, GzipOutputPassesGzipTestAndDecompressesToTheInput) {
  std::string input = MixedData(3 * 1024 * 1024 + 12345, 1);
  Output o = Compress(input, Gzip(2));
  EXPECT_EQ(GzipTest(o.bytes), 0);
  EXPECT_TRUE(Decompress("gzip", o.bytes) == input);
  EXPECT_LT(o.bytes.size(), input.size());
  // One member: no second gzip header after the first.
  EXPECT_EQ(o.bytes.find("\x1f\x8b\x08", 1), std::string::npos) << "unexpected second header";
}

TEST_F(CompressTest, GzipBytesAreTheSameForOneTwoAndFourThreadsAndAnyWriteSizes) {
  std::string input = MixedData(2 * 1024 * 1024 + 777, 2);
  Output one = Compress(input, Gzip(1));
  EXPECT_EQ(Compress(input, Gzip(2)).bytes, one.bytes);
  EXPECT_EQ(Compress(input, Gzip(4)).bytes, one.bytes);
  EXPECT_EQ(Compress(input, Gzip(2), 7).bytes, one.bytes);
  EXPECT_EQ(Compress(input, Gzip(3), 1 << 20).bytes, one.bytes);
  EXPECT_EQ(Compress(input, Gzip(2), input.size()).bytes, one.bytes);
  EXPECT_TRUE(Decompress("gzip", one.bytes) == input);
}

TEST_F(CompressTest, GzipHeaderHasNoNameNoMtimeAndUnknownOs) {
  Output o = Compress("hello", Gzip(1));
  ASSERT_GE(o.bytes.size(), 18u);
  EXPECT_EQ(o.bytes.substr(0, 10), std::string("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10));
  EXPECT_EQ(Compress("hello", Gzip(1, 9)).bytes[8], '\x02');
  EXPECT_EQ(Compress("hello", Gzip(1, 1)).bytes[8], '\x04');
  // Trailer: CRC-32 and size of "hello", little-endian.
  EXPECT_EQ(o.bytes.substr(o.bytes.size() - 8), std::string("\x86\xa6\x10\x36\x05\0\0\0", 8));
  EXPECT_EQ(Decompress("gzip", o.bytes), "hello");
}

TEST_F(CompressTest, GzipOfEmptyInputAndOfWholeBlocksIsValid) {
  Output empty = Compress("", Gzip(2));
  EXPECT_EQ(GzipTest(empty.bytes), 0);
  EXPECT_EQ(Decompress("gzip", empty.bytes), "");
  EXPECT_EQ(empty.result.uncompressed_size, 0);
  std::string blocks = MixedData(4 * 128 * 1024, 3);  // ends exactly on a block boundary
  Output o = Compress(blocks, Gzip(2));
  EXPECT_EQ(GzipTest(o.bytes), 0);
  EXPECT_TRUE(Decompress("gzip", o.bytes) == blocks);
}

TEST_F(CompressTest, GzipLevelsChangeTheBytesAndStayValid) {
  std::string input = MixedData(600 * 1024, 4);
  std::vector<std::string> outs;
  for (int level : {-2, 0, 1, 6, 9}) {
    Output o = Compress(input, Gzip(2, level));
    EXPECT_EQ(GzipTest(o.bytes), 0) << "level " << level;
    EXPECT_TRUE(Decompress("gzip", o.bytes) == input) << "level " << level;
    outs.push_back(o.bytes);
  }
  EXPECT_NE(outs[2], outs[4]);                         // 1 vs 9
  EXPECT_GT(outs[1].size(), input.size());             // 0 stores
  EXPECT_EQ(Compress(input, Gzip(2)).bytes, outs[3]);  // default is 6
  auto bad = NewCompressor(Context::Background(), Gzip(1, 10),
                           [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "gzip: invalid compression level: 10");
}

TEST_F(CompressTest, ZstdRoundTripsThroughTheZstdToolWithTheSameBytesForAnyThreadCount) {
  // Larger than libzstd's multi-threaded job size, so two workers really split the work.
  std::string input = MixedData(24 * 1024 * 1024 + 5, 5);
  Output one = Compress(input, Zstd(1));
  EXPECT_TRUE(Decompress("zstd", one.bytes) == input);
  EXPECT_EQ(Compress(input, Zstd(2)).bytes, one.bytes);
  EXPECT_EQ(Compress(input, Zstd(4), 4099).bytes, one.bytes);
  std::string f = tmp_.Sub("blob.zst");
  WriteBytes(f, one.bytes);
  EXPECT_EQ(RunCommand("zstd -t '" + f + "'").exit_code, 0);
}

TEST_F(CompressTest, DigestsAndSizesAreThoseOfTheBytes) {
  std::string input = MixedData(1024 * 1024 + 3, 6);
  std::string in_file = tmp_.Sub("input");
  WriteBytes(in_file, input);
  for (Compression type : {Compression::kUncompressed, Compression::kGzip, Compression::kZstd}) {
    CompressOptions opts;
    opts.type = type;
    opts.threads = 2;
    Output o = Compress(input, opts);
    std::string out_file = tmp_.Sub("output");
    WriteBytes(out_file, o.bytes);
    EXPECT_EQ(o.result.digest.str(), Sha256sum(out_file)) << CompressionName(type);
    EXPECT_EQ(o.result.diff_id.str(), Sha256sum(in_file)) << CompressionName(type);
    EXPECT_EQ(o.result.size, static_cast<int64_t>(o.bytes.size()));
    EXPECT_EQ(o.result.uncompressed_size, static_cast<int64_t>(input.size()));
    if (type == Compression::kUncompressed) {
      EXPECT_EQ(o.bytes, input);
      EXPECT_EQ(o.result.digest, o.result.diff_id);
    }
    opts.digest_output = false;
    EXPECT_TRUE(Compress(input, opts).result.digest.empty());
  }
}

TEST_F(CompressTest, CancellationStopsTheCompressorWithItsCause) {
  for (Compression type : {Compression::kUncompressed, Compression::kGzip, Compression::kZstd}) {
    Context ctx = Context::Background().Child();
    CompressOptions opts;
    opts.type = type;
    opts.threads = 2;
    auto c = NewCompressor(ctx, opts, [](std::string_view) { return Status::Ok(); });
    ASSERT_TRUE(c.ok());
    std::string block(256 * 1024, 'x');
    ASSERT_TRUE((*c)->Write(block).ok());
    ctx.Cancel(Cancelled("build cancelled by the client"));
    Status s = (*c)->Write(block);
    EXPECT_EQ(s.code(), Code::kCancelled) << CompressionName(type);
    EXPECT_EQ(s.message(), "build cancelled by the client");
    EXPECT_EQ((*c)->Finish().status().code(), Code::kCancelled);
  }
}

TEST_F(CompressTest, ASinkErrorStopsTheCompressorAndComesBack) {
  for (Compression type : {Compression::kUncompressed, Compression::kGzip, Compression::kZstd}) {
    CompressOptions opts;
    opts.type = type;
    opts.threads = 2;
    int calls = 0;
    auto c = NewCompressor(Context::Background(), opts, [&calls](std::string_view) {
      return ++calls > 1 ? ResourceExhausted("write blob: No space left on device") : Status::Ok();
    });
    ASSERT_TRUE(c.ok());
    std::string input = MixedData(8 * 1024 * 1024, 7);
    Status s;
    for (size_t off = 0; off < input.size() && s.ok(); off += 1 << 20) {
      s = (*c)->Write(std::string_view(input).substr(off, 1 << 20));
    }
    Status f = s.ok() ? (*c)->Finish().status() : s;
    EXPECT_EQ(f.code(), Code::kResourceExhausted) << CompressionName(type);
    EXPECT_EQ(f.message(), "write blob: No space left on device");
    EXPECT_EQ((*c)->Write("more").code(), Code::kResourceExhausted);
  }
}

TEST_F(CompressTest, BadOptionsAreRefused) {
  auto sink = [](std::string_view) { return Status::Ok(); };
  CompressOptions opts;
  opts.type = Compression::kEstargz;
  EXPECT_EQ(NewCompressor(Context::Background(), opts, sink).status().code(), Code::kUnimplemented);
  opts.type = Compression::kGzip;
  opts.threads = 0;
  EXPECT_EQ(NewCompressor(Context::Background(), opts, sink).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::layer
