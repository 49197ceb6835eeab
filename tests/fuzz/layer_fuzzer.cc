// libFuzzer harness for layer apply (snapshot/apply.h): arbitrary bytes as a layer blob (plain,
// gzip or zstd tar), applied in merged or overlay mode (first byte) into a fresh directory.
// Apply may fail, but must not crash, and nothing may appear beside the destination.

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "snapshot/apply.h"
#include "util/fs_copy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  char tmpl[] = "/tmp/kiln-layer-fuzz-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 0;
  std::string top = tmpl;
  std::string dest = top + "/dest";
  if (mkdir(dest.c_str(), 0755) != 0) return 0;
  kiln::snapshot::ApplyOptions opts;
  opts.mode =
      (data[0] & 1) ? kiln::snapshot::ApplyMode::kOverlay : kiln::snapshot::ApplyMode::kMerged;
  std::string blob(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t pos = 0;
  kiln::snapshot::ByteSource src = [&](char* buf, size_t len) -> kiln::Result<size_t> {
    size_t n = std::min(len, blob.size() - pos);
    blob.copy(buf, n, pos);
    pos += n;
    return n;
  };
  kiln::snapshot::ApplyLayer(kiln::Context::Background(), src, dest, opts).status().IgnoreError();
  auto names = kiln::ReadDirNames(top);
  if (!names.ok() || names->size() != 1) abort();  // something escaped the destination
  kiln::RemoveAll(top).IgnoreError();
  return 0;
}
