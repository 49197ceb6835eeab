#pragma once
// Streaming compression of a layer tar into a byte sink, hashing in the same pass: the sha256
// and size of the uncompressed stream (the layer's diff ID) and, unless turned off, of the
// compressed one (the blob digest).
//
// - uncompressed: the bytes as they are.
// - gzip: parallel, as pigz does it: the input is cut into fixed 128 KiB blocks at fixed offsets,
//   each deflated on a worker thread with the 32 KiB of input before it as the dictionary and
//   ended with a sync flush (the last with the final block), and the pieces are joined in order
//   into ONE gzip member (header without name or mtime, CRC-32 combined from the blocks'). Block
//   boundaries depend only on input offsets, so the bytes are the same for any thread count and
//   any way the input is split into Write calls (docs/dev/layers.md).
// - zstd: libzstd with nbWorkers = threads (at least 1: libzstd's multi-threaded format, whose
//   output does not depend on the number of workers; nbWorkers = 0 would give other bytes), with
//   a content checksum, as the `zstd` tool writes it.
//
// Memory is bounded: gzip keeps at most 2 * threads + 2 blocks in flight. A Compressor is used
// by one thread (Write, then Finish once); gzip's workers are its own and joined by Finish or
// the destructor. Errors of the sink, of the codec and the context's cancellation stop it and
// are returned by the call that meets them; after an error the compressor is spent.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/context.h"
#include "util/digest.h"
#include "util/status.h"
#include "util/tar_writer.h"

namespace kiln::layer {

enum class Compression { kUncompressed, kGzip, kZstd, kEstargz };

// "uncompressed", "gzip", "zstd", "estargz": BuildKit's names.
std::string_view CompressionName(Compression c);

struct CompressOptions {
  Compression type = Compression::kGzip;
  // Codec level; unset: the codec's default (gzip 6, zstd 3). gzip takes -1 (default), -2
  // (Huffman only) and 0..9 as Go's compress/gzip; zstd takes libzstd's range (clamped).
  std::optional<int> level;
  // Worker threads of gzip and zstd (at least 1).
  int threads = 1;
  // Hash the compressed stream; off when the receiver hashes it anyway (the content store).
  bool digest_output = true;
};

struct CompressResult {
  Digest digest;     // sha256 of the compressed stream; empty when digest_output was off
  int64_t size = 0;  // compressed bytes
  Digest diff_id;    // sha256 of the uncompressed stream
  int64_t uncompressed_size = 0;
};

class Compressor {
 public:
  virtual ~Compressor() = default;
  Compressor(const Compressor&) = delete;  // may own worker threads
  Compressor& operator=(const Compressor&) = delete;

  // Feeds uncompressed bytes (any size, any number of calls).
  Status Write(std::string_view data);
  // Ends the stream (flushing everything to the sink) and returns the hashes and sizes.
  Result<CompressResult> Finish();
  // A ByteSink that calls Write, for TarWriter and friends. Valid while this object lives.
  ByteSink AsSink() {
    return [this](std::string_view d) { return Write(d); };
  }

 protected:
  Compressor(const Context& ctx, ByteSink out, bool digest_output);
  // Codec side: consume input / end the stream, handing output to Emit in order.
  virtual Status Encode(std::string_view data) = 0;
  virtual Status End() = 0;
  // Hands compressed bytes on to the sink (hashing and counting them).
  Status Emit(std::string_view data);
  const Context& ctx() const { return ctx_; }

 private:
  Context ctx_;
  ByteSink out_;
  Sha256 in_hash_;
  std::unique_ptr<Sha256> out_hash_;  // null when the output is not hashed
  int64_t in_size_ = 0;
  int64_t out_size_ = 0;
  Status failed_;  // the first error sticks
  bool finished_ = false;
};

// A compressor of the given type writing to out. InvalidArgument for a bad level or thread
// count, Unimplemented for estargz.
Result<std::unique_ptr<Compressor>> NewCompressor(const Context& ctx, const CompressOptions& opts,
                                                  ByteSink out);

}  // namespace kiln::layer
