// One layer export of a directory tree with kiln's code: the walking differ against an empty
// parent (what a first layer is), compressed and written into a content store, as ExportLayer
// does for a snapshot. bench/layer_export.sh runs it beside tar | pigz, tar | zstd, tar | gzip.
// Prints one line of key=value pairs; no pass/fail.
// Usage: layer_export_bench <tree> <content-store-dir> <uncompressed|gzip|zstd> <threads> [level]

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "content/store.h"
#include "layer/layer_export.h"

namespace kiln::layer {
namespace {

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

int Main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s <tree> <store> <compression> <threads> [level]\n", argv[0]);
    return 2;
  }
  std::map<std::string, std::string> attrs = {{"compression", argv[3]}};
  if (argc > 5) attrs["compression-level"] = argv[5];
  auto opts = ParseLayerOptions(attrs);
  if (!opts.ok()) {
    std::fprintf(stderr, "%s\n", opts.status().ToString().c_str());
    return 2;
  }
  opts->threads = std::atoi(argv[4]);
  auto store = content::Store::Open(argv[2]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  Context ctx = Context::Background();
  std::string tree = argv[1];
  DiffOptions dopts = DiffOptionsFor(*opts);
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  auto d = ExportTar(
      ctx, [&](const ByteSink& sink) { return WriteTreeDiff(ctx, "", tree, dopts, sink); }, **store,
      *opts);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu0;
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
    return 1;
  }
  std::printf("wall=%.3f cpu=%.2f size=%lld usize=%lld entries=%lld digest=%s diff_id=%s\n", wall,
              cpu, static_cast<long long>(d->size), static_cast<long long>(d->uncompressed_size),
              static_cast<long long>(d->diff.entries), d->digest.str().c_str(),
              d->diff_id.str().c_str());
  return 0;
}

}  // namespace
}  // namespace kiln::layer

int main(int argc, char** argv) { return kiln::layer::Main(argc, argv); }
