// Parallel gzip: one gzip member made of independently deflated blocks (docs/dev/layers.md).
//
// The caller's thread cuts the input into kBlockSize blocks at fixed offsets and queues them;
// worker threads deflate them (raw deflate, the previous block's last 32 KiB as the dictionary,
// a sync flush at the end so the pieces join on a byte boundary; the last block ends the deflate
// stream) and compute each block's CRC-32. The caller's thread writes the pieces in input order
// and combines the CRCs. A block's output depends only on its bytes, its dictionary and the
// level, never on which thread ran it or when, so the stream is the same for any thread count.

#include <zlib.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "layer/codecs.h"

namespace kiln::layer::internal {
namespace {

constexpr size_t kBlockSize = 128 * 1024;
constexpr size_t kDictSize = 32 * 1024;  // deflate's window

struct Job {
  std::string input;
  std::string dict;  // the 32 KiB of input before this block (empty for the first)
  bool last = false;
  // Written by the worker before `done` is set under the mutex.
  std::string output;
  uint32_t crc = 0;
  Status status;
  bool done = false;  // guarded by ParallelGzip::mu_
};

// One worker's deflate state, reset for every block.
class Deflater {
 public:
  explicit Deflater(int level) {
    int strategy = Z_DEFAULT_STRATEGY;
    if (level == -2) {  // Go's gzip.HuffmanOnly
      strategy = Z_HUFFMAN_ONLY;
      level = Z_DEFAULT_COMPRESSION;
    }
    memset(&zs_, 0, sizeof(zs_));
    int rc = deflateInit2(&zs_, level, Z_DEFLATED, -15, 8, strategy);
    ok_ = rc == Z_OK;
    if (!ok_) init_error_ = Internal("gzip: deflateInit2 failed (" + std::to_string(rc) + ")");
  }
  ~Deflater() {
    if (ok_) deflateEnd(&zs_);
  }
  Deflater(const Deflater&) = delete;  // owns zlib state
  Deflater& operator=(const Deflater&) = delete;

  Status Run(Job* job) {
    if (!ok_) return init_error_;
    if (deflateReset(&zs_) != Z_OK) return Internal("gzip: deflateReset failed");
    if (!job->dict.empty() &&
        deflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(job->dict.data()),
                             static_cast<uInt>(job->dict.size())) != Z_OK) {
      return Internal("gzip: deflateSetDictionary failed");
    }
    std::string& out = job->output;
    out.resize(deflateBound(&zs_, job->input.size()) + 64);
    zs_.next_in = reinterpret_cast<Bytef*>(job->input.data());
    zs_.avail_in = static_cast<uInt>(job->input.size());
    zs_.next_out = reinterpret_cast<Bytef*>(out.data());
    zs_.avail_out = static_cast<uInt>(out.size());
    int flush = job->last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      int rc = deflate(&zs_, flush);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return Internal("gzip: deflate failed (" + std::to_string(rc) + ")");
      }
      bool complete = job->last ? rc == Z_STREAM_END : zs_.avail_in == 0 && zs_.avail_out != 0;
      if (complete) break;
      if (zs_.avail_out == 0) {  // deflateBound should make this unreachable; grow anyway
        size_t used = out.size();
        out.resize(out.size() * 2);
        zs_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        zs_.avail_out = static_cast<uInt>(out.size() - used);
      } else if (rc == Z_BUF_ERROR) {
        return Internal("gzip: deflate made no progress");
      }
    }
    out.resize(out.size() - zs_.avail_out);
    job->crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(job->input.data()), job->input.size()));
    return Status::Ok();
  }

 private:
  z_stream zs_;
  bool ok_ = false;
  Status init_error_;
};

void PutLE32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; i++) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class ParallelGzip : public Compressor {
 public:
  ParallelGzip(const Context& ctx, ByteSink out, bool digest_output, int level, int threads)
      : Compressor(ctx, std::move(out), digest_output),
        level_(level),
        max_in_flight_(2 * static_cast<size_t>(threads) + 2) {
    for (int i = 0; i < threads; i++) workers_.emplace_back([this] { WorkerLoop(); });
  }
  ~ParallelGzip() override { Stop(); }

 protected:
  Status Encode(std::string_view data) override {
    if (!header_written_) KILN_RETURN_IF_ERROR(WriteHeader());
    while (!data.empty()) {
      if (current_.capacity() < kBlockSize) current_.reserve(kBlockSize);
      size_t take = std::min(kBlockSize - current_.size(), data.size());
      current_.append(data.data(), take);
      data.remove_prefix(take);
      if (current_.size() == kBlockSize) KILN_RETURN_IF_ERROR(Submit(false));
    }
    return Status::Ok();
  }

  Status End() override {
    if (!header_written_) KILN_RETURN_IF_ERROR(WriteHeader());
    KILN_RETURN_IF_ERROR(Submit(true));
    KILN_RETURN_IF_ERROR(Drain(0));
    Stop();
    std::string trailer;
    PutLE32(&trailer, crc_);
    PutLE32(&trailer, static_cast<uint32_t>(total_in_ & 0xffffffffu));
    return Emit(trailer);
  }

 private:
  // RFC 1952 header: no name, no mtime (so the bytes depend on the content only), OS unknown;
  // XFL says "best"/"fastest" at levels 9/1 as gzip and Go's writer do.
  Status WriteHeader() {
    header_written_ = true;
    char xfl = level_ == 9 ? 2 : level_ == 1 ? 4 : 0;
    const char header[10] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, xfl, '\xff'};
    return Emit(std::string_view(header, sizeof(header)));
  }

  // Queues current_ as the next block and writes whatever is finished at the front.
  Status Submit(bool last) {
    KILN_RETURN_IF_ERROR(ctx().Err());
    std::unique_ptr<Job> job = TakeJob();
    job->input.swap(current_);
    current_.clear();
    job->dict.swap(tail_);
    // Only the last block can be shorter than the window, and nothing follows it.
    size_t n = std::min(kDictSize, job->input.size());
    tail_.assign(job->input, job->input.size() - n, n);
    job->last = last;
    total_in_ += job->input.size();
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(job.get());
    }
    work_cv_.notify_one();
    in_flight_.push_back(std::move(job));
    return Drain(max_in_flight_);
  }

  // Writes finished blocks in order; waits for the oldest while more than `limit` are queued.
  Status Drain(size_t limit) {
    while (!in_flight_.empty()) {
      Job* j = in_flight_.front().get();
      {
        std::unique_lock<std::mutex> l(mu_);
        if (in_flight_.size() > limit) {
          done_cv_.wait(l, [j] { return j->done; });
        } else if (!j->done) {
          break;
        }
      }
      KILN_RETURN_IF_ERROR(j->status);
      crc_ =
          static_cast<uint32_t>(crc32_combine(crc_, j->crc, static_cast<z_off_t>(j->input.size())));
      KILN_RETURN_IF_ERROR(Emit(j->output));
      free_.push_back(std::move(in_flight_.front()));
      in_flight_.pop_front();
    }
    return Status::Ok();
  }

  std::unique_ptr<Job> TakeJob() {
    if (free_.empty()) return std::make_unique<Job>();
    std::unique_ptr<Job> j = std::move(free_.back());
    free_.pop_back();
    j->input.clear();
    j->output.clear();
    j->crc = 0;
    j->status = Status::Ok();
    j->done = false;  // no worker holds a recycled job
    return j;
  }

  void WorkerLoop() {
    Deflater d(level_);
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> l(mu_);
        work_cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = queue_.front();
        queue_.pop_front();
      }
      Status s = d.Run(job);
      {
        std::lock_guard<std::mutex> l(mu_);
        job->status = std::move(s);
        job->done = true;
      }
      done_cv_.notify_all();
    }
  }

  // Joins the workers; queued blocks are dropped (only after an error or at the end).
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
      queue_.clear();
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  const int level_;
  const size_t max_in_flight_;
  bool header_written_ = false;
  std::string current_;  // the block being filled
  std::string tail_;     // the last kDictSize bytes of the previous block
  uint64_t total_in_ = 0;
  uint32_t crc_ = 0;                            // crc32 of the blocks written so far
  std::deque<std::unique_ptr<Job>> in_flight_;  // submission order; caller's thread only
  std::vector<std::unique_ptr<Job>> free_;      // finished jobs for reuse; caller's thread only

  std::mutex mu_;
  std::condition_variable work_cv_;  // queue_ grew or stopping_
  std::condition_variable done_cv_;  // a job is done
  std::deque<Job*> queue_;           // guarded by mu_: jobs no worker has taken yet
  bool stopping_ = false;            // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace

Result<std::unique_ptr<Compressor>> NewParallelGzip(const Context& ctx, ByteSink out,
                                                    bool digest_output, int level, int threads) {
  if (level < -2 || level > 9) {
    return InvalidArgument("gzip: invalid compression level: " + std::to_string(level));
  }
  return std::unique_ptr<Compressor>(
      new ParallelGzip(ctx, std::move(out), digest_output, level, threads));
}

}  // namespace kiln::layer::internal
