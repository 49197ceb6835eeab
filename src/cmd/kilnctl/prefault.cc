// kilnctl's memory set up before anything else runs (a .preinit_array hook), for a short-lived
// process whose first-touch page faults were a third of a cached build's kernel time: on the
// PVM guests this project runs on, a fault costs ~16-20 us, while MADV_POPULATE_* maps the same
// pages for ~0.3 us (file) to ~1.5 us (zeroed anonymous) each (docs/dev/cached-rebuild.md).
//
// - The executable's segments (text, read-only data, data) are mapped at once: a cached build
//   touched about 170 separate 64 KiB windows of the text.
// - The main heap grows in 1 MiB steps and its first step is populated: kilnctl's own
//   allocations (protobuf's descriptor index, the connection, the session) take ~600 KiB.
//   Setting the pad fixes glibc's mmap threshold, so it is set to what the dynamic threshold
//   would reach for the buffers kilnctl frees and allocates again.
// - One malloc arena: each thread kilnctl starts would otherwise get an arena of its own (a
//   64 MiB reservation and its first pages faulted); kilnctl's threads mostly wait.
//
// Not under the sanitizers, which own malloc and start before this.
#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
namespace {

constexpr size_t kHeapStep = 1 << 20;
constexpr size_t kMmapThreshold = 4 << 20;

uintptr_t PageDown(uintptr_t a) { return a & ~static_cast<uintptr_t>(sysconf(_SC_PAGESIZE) - 1); }

void Populate(uintptr_t start, uintptr_t end, int advice) {
  start = PageDown(start);
  // Errors (an old kernel without MADV_POPULATE_*, no memory) only lose the gain.
  if (end > start) (void)madvise(reinterpret_cast<void*>(start), end - start, advice);
}

int PopulateExecutable(struct dl_phdr_info* info, size_t, void*) {
  // The start of the writable segment that the loader made read-only after relocating it.
  uintptr_t relro_end = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_GNU_RELRO) relro_end = PageDown(info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
  }
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    uintptr_t end = start + ph.p_memsz;
    if ((ph.p_flags & PF_W) == 0) {
      Populate(start, end, MADV_POPULATE_READ);
      continue;
    }
    if (relro_end > start && relro_end < end) {
      Populate(start, relro_end, MADV_POPULATE_READ);
      start = relro_end;
    }
    Populate(start, end, MADV_POPULATE_WRITE);
  }
  return 1;  // the first object dl_iterate_phdr reports is the executable
}

void Prefault(int, char**, char**) {
  dl_iterate_phdr(PopulateExecutable, nullptr);
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TOP_PAD, kHeapStep);
  void* first = malloc(1);  // the heap's first step, sbrk'd here
  Populate(reinterpret_cast<uintptr_t>(first), reinterpret_cast<uintptr_t>(sbrk(0)),
           MADV_POPULATE_WRITE);
  free(first);
}

}  // namespace

__attribute__((section(".preinit_array"),
               used)) void (*const kiln_kilnctl_prefault)(int, char**, char**) = Prefault;
#endif
