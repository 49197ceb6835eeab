// zstd through libzstd's streaming API in its multi-threaded mode (nbWorkers >= 1). libzstd cuts
// that mode's jobs at sizes derived from the parameters alone, so the frame is the same for any
// number of workers and any way the input arrives; single-threaded mode (nbWorkers = 0) writes
// other bytes, which is why it is never used (docs/dev/layers.md).

#include <zstd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "layer/codecs.h"

namespace kiln::layer::internal {
namespace {

Status ZstdError(std::string_view what, size_t rc) {
  return Internal("zstd: " + std::string(what) + ": " + ZSTD_getErrorName(rc));
}

class ZstdCompressor : public Compressor {
 public:
  ZstdCompressor(const Context& ctx, ByteSink out, bool digest_output)
      : Compressor(ctx, std::move(out), digest_output), out_(ZSTD_CStreamOutSize()) {}
  ~ZstdCompressor() override { ZSTD_freeCCtx(cctx_); }

  Status Init(int level, int threads) {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) return ResourceExhausted("zstd: cannot allocate a context");
    size_t rc = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(rc)) return ZstdError("level " + std::to_string(level), rc);
    rc = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(rc)) return ZstdError("checksum flag", rc);
    rc = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, threads);
    if (ZSTD_isError(rc)) {
      return ZstdError(
          "this libzstd cannot compress with " + std::to_string(threads) + " worker threads", rc);
    }
    return Status::Ok();
  }

 protected:
  Status Encode(std::string_view data) override {
    KILN_RETURN_IF_ERROR(ctx().Err());
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) {
      auto stepped = Step(&in, ZSTD_e_continue);
      KILN_RETURN_IF_ERROR(stepped.status());
    }
    return Status::Ok();
  }

  Status End() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      KILN_RETURN_IF_ERROR(ctx().Err());
      KILN_ASSIGN_OR_RETURN(size_t remaining, Step(&in, ZSTD_e_end));
      if (remaining == 0) return Status::Ok();
    }
  }

 private:
  // One compressStream2 call; hands on what it produced. Returns libzstd's "remaining" hint.
  Result<size_t> Step(ZSTD_inBuffer* in, ZSTD_EndDirective op) {
    ZSTD_outBuffer o{out_.data(), out_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_, &o, in, op);
    if (ZSTD_isError(rc)) return ZstdError("compress", rc);
    KILN_RETURN_IF_ERROR(Emit(std::string_view(out_.data(), o.pos)));
    return rc;
  }

  ZSTD_CCtx* cctx_ = nullptr;
  std::vector<char> out_;
};

}  // namespace

Result<std::unique_ptr<Compressor>> NewZstd(const Context& ctx, ByteSink out, bool digest_output,
                                            std::optional<int> level, int threads) {
  int lv = std::clamp(level.value_or(ZSTD_CLEVEL_DEFAULT), ZSTD_minCLevel(), ZSTD_maxCLevel());
  auto c = std::make_unique<ZstdCompressor>(ctx, std::move(out), digest_output);
  KILN_RETURN_IF_ERROR(c->Init(lv, threads));
  return std::unique_ptr<Compressor>(std::move(c));
}

}  // namespace kiln::layer::internal
