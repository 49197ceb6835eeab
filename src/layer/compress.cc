#include "layer/compress.h"

#include <string>

#include "layer/codecs.h"

namespace kiln::layer {
namespace {

// The uncompressed "codec": bytes pass through.
class Passthrough : public Compressor {
 public:
  Passthrough(const Context& ctx, ByteSink out, bool digest_output)
      : Compressor(ctx, std::move(out), digest_output) {}

 protected:
  Status Encode(std::string_view data) override {
    KILN_RETURN_IF_ERROR(ctx().Err());
    return Emit(data);
  }
  Status End() override { return Status::Ok(); }
};

}  // namespace

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kUncompressed:
      return "uncompressed";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kEstargz:
      return "estargz";
  }
  return "unknown";
}

Compressor::Compressor(const Context& ctx, ByteSink out, bool digest_output)
    : ctx_(ctx), out_(std::move(out)) {
  if (digest_output) out_hash_ = std::make_unique<Sha256>();
}

Status Compressor::Write(std::string_view data) {
  if (!failed_.ok()) return failed_;
  if (finished_) return FailedPrecondition("compress: write after the end of the stream");
  if (data.empty()) return Status::Ok();
  in_hash_.Update(data);
  in_size_ += static_cast<int64_t>(data.size());
  Status s = Encode(data);
  if (!s.ok()) failed_ = s;
  return s;
}

Result<CompressResult> Compressor::Finish() {
  if (!failed_.ok()) return failed_;
  if (finished_) return FailedPrecondition("compress: the stream was already finished");
  finished_ = true;
  Status s = ctx_.Err();
  if (s.ok()) s = End();
  if (!s.ok()) {
    failed_ = s;
    return s;
  }
  CompressResult r;
  r.diff_id = in_hash_.Final();
  r.uncompressed_size = in_size_;
  r.size = out_size_;
  if (out_hash_) r.digest = out_hash_->Final();
  return r;
}

Status Compressor::Emit(std::string_view data) {
  if (data.empty()) return Status::Ok();
  if (out_hash_) out_hash_->Update(data);
  out_size_ += static_cast<int64_t>(data.size());
  return out_(data);
}

Result<std::unique_ptr<Compressor>> NewCompressor(const Context& ctx, const CompressOptions& opts,
                                                  ByteSink out) {
  if (opts.threads < 1) {
    return InvalidArgument("compress: " + std::to_string(opts.threads) +
                           " threads; at least 1 is needed");
  }
  switch (opts.type) {
    case Compression::kUncompressed:
      return std::unique_ptr<Compressor>(new Passthrough(ctx, std::move(out), opts.digest_output));
    case Compression::kGzip:
      return internal::NewParallelGzip(ctx, std::move(out), opts.digest_output,
                                       opts.level.value_or(-1), opts.threads);
    case Compression::kZstd:
      return internal::NewZstd(ctx, std::move(out), opts.digest_output, opts.level, opts.threads);
    case Compression::kEstargz:
      break;
  }
  return Unimplemented("compression type estargz is not supported by kiln yet");
}

}  // namespace kiln::layer
