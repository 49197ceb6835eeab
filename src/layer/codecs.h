#pragma once
// The codecs behind NewCompressor (compress.h), one file each. Internal to the layer module.

#include <memory>

#include "layer/compress.h"

namespace kiln::layer::internal {

// Parallel gzip (gzip_parallel.cc). level: -2..9 as Go's compress/gzip (-1: default).
Result<std::unique_ptr<Compressor>> NewParallelGzip(const Context& ctx, ByteSink out,
                                                    bool digest_output, int level, int threads);

// zstd through libzstd's multi-threaded streaming API (zstd_stream.cc).
Result<std::unique_ptr<Compressor>> NewZstd(const Context& ctx, ByteSink out, bool digest_output,
                                            std::optional<int> level, int threads);

}  // namespace kiln::layer::internal
