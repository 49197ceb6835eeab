// No-change resync of a many-file tree through fsutil's sender and receiver joined in memory
// (no gRPC), to see the receiver's per-entry cost on its own: its thread CPU and wall time per
// resync, with one packet per message or batches, and with or without the xattr knowledge a
// local source keeps between syncs (ReceiveOptions::dest_xattr_paths). Prints; no pass/fail.
// Usage: fsutil_resync_bench [files=20000] [rounds=5]

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "fsutil/batch_stream.h"
#include "fsutil/receiver.h"
#include "fsutil/sender.h"

namespace kiln::fsutil {
namespace {

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Same layout as bench/context_transfer.sh, with tiny files: only metadata matters here.
void MakeTree(const std::string& root, int files) {
  for (int i = 0; i < files; i++) {
    char dir[64];
    std::snprintf(dir, sizeof(dir), "/d%03d/s%d", i % 200, i % 7);
    std::filesystem::create_directories(root + dir);
    char name[32];
    std::snprintf(name, sizeof(name), "/f%05d.dat", i);
    int fd = open((root + dir + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1) std::abort();
    close(fd);
  }
}

struct SyncResult {
  ReceiveStats stats;
  double recv_cpu = 0;
  double wall = 0;
};

SyncResult Sync(const std::string& src, const std::string& dest, bool batches,
                const ReceiveOptions& opts) {
  std::unique_ptr<BatchTransport> ta, tb;
  std::unique_ptr<PacketStream> a, b;
  if (batches) {
    std::tie(ta, tb) = NewInMemoryBatchPipe();
    a = std::make_unique<BatchingPacketStream>(*ta);
    b = std::make_unique<BatchingPacketStream>(*tb);
  } else {
    std::tie(a, b) = NewInMemoryPipe();
  }
  SyncResult r;
  Status send;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread sender([&] {
    WalkOptions walk;
    send = Send(Context::Background(), *a, src, walk, nullptr);
  });
  const double c0 = ThreadCpuSeconds();
  Status recv = Receive(Context::Background(), *b, dest, opts, &r.stats);
  r.recv_cpu = ThreadCpuSeconds() - c0;
  sender.join();
  r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!send.ok() || !recv.ok()) {
    std::fprintf(stderr, "sync failed: %s / %s\n", send.ToString().c_str(),
                 recv.ToString().c_str());
    std::exit(1);
  }
  return r;
}

int Run(int argc, char** argv) {
  const int files = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const char* tmp = std::getenv("TMPDIR");
  std::string work = std::string(tmp != nullptr ? tmp : "/var/tmp") + "/kiln-resync-XXXXXX";
  if (mkdtemp(work.data()) == nullptr) return 1;
  MakeTree(work + "/src", files);
  const std::string dest = work + "/dest";
  SyncResult first = Sync(work + "/src", dest, true, {});
  std::printf("%d files (%lld entries); no-change resync, mean of %d:\n", files,
              static_cast<long long>(first.stats.entries), rounds);
  for (bool batches : {false, true}) {
    for (bool hint : {false, true}) {
      ReceiveOptions opts;
      if (hint) opts.dest_xattr_paths.emplace();  // the first sync listed no xattrs
      double cpu = 0, wall = 0;
      for (int i = 0; i < rounds; i++) {
        SyncResult r = Sync(work + "/src", dest, batches, opts);
        if (r.stats.files_requested != 0 || r.stats.entries_written != 0) std::abort();
        cpu += r.recv_cpu;
        wall += r.wall;
      }
      std::printf("  %-8s xattr hint %-3s  receiver CPU %6.1f ms   wall %6.1f ms\n",
                  batches ? "batches" : "packets", hint ? "on" : "off", 1e3 * cpu / rounds,
                  1e3 * wall / rounds);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  return 0;
}

}  // namespace
}  // namespace kiln::fsutil

int main(int argc, char** argv) { return kiln::fsutil::Run(argc, argv); }
