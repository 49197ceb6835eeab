#!/usr/bin/env bash
# Layer export benchmark (issue 6): a ~1 GB tree (deterministic mix of random and text files)
# exported as a layer with kiln's code (walking differ, tar, compression, content store; 2
# threads) with gzip and with zstd, beside `tar -cf - | pigz -p2`, `tar -cf - | zstd -T2` and
# single-threaded `tar -cf - | gzip` of the same tree, in the same run. Every output is on disk
# (fsynced) when its time stops; the tree is read from the page cache by all. Prints times,
# CPU seconds, compression ratios and kiln's time ratios against the peers; no pass/fail.
# Usage: bench/layer_export.sh [build-dir] [rounds]   (default build/release, 1)
# BENCH_TMPDIR picks the work directory (default /var/tmp; /dev/shm leaves the disk out);
# BENCH_MB the tree size (default 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
rounds=${2:-1}
threads=2
[[ -x $bin/layer_export_bench ]] || {
  echo "build first: cmake --preset release && cmake --build build/release --target layer_export_bench" >&2
  exit 1
}
for t in pigz zstd gzip tar; do
  command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/kiln-layerbench-XXXXXX")
trap '[[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
tree=$work/tree
python3 - "$tree" "${BENCH_MB:-1024}" <<'PY'
import os, random, sys
root, total_mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(6)
words = [w.encode() for w in (
    "layer snapshot overlay whiteout digest compress block thread kiln build image "
    "manifest config registry cache vertex solver frontend dockerfile export apply "
    "the of and to in is for on with as by at from this that").split()]
# A 4 MiB pool of text: words, numbers and punctuation in lines, like logs and sources.
pool = bytearray()
while len(pool) < 4 << 20:
    line = b" ".join(rnd.choice(words) for _ in range(rnd.randint(3, 14)))
    pool += b"%d: " % rnd.randint(0, 99999) + line + (b";\n" if rnd.random() < 0.3 else b"\n")
target = total_mb << 20
written = files = 0
while written < target:
    size = min(int(rnd.choice([4, 16, 64, 256, 1024, 4096, 8192]) * 1024 * rnd.uniform(0.5, 1.5)),
               target - written)
    d = os.path.join(root, f"d{files % 32:02d}", f"s{files % 5}")
    os.makedirs(d, exist_ok=True)
    if rnd.random() < 0.4:
        data = rnd.randbytes(size)
    else:
        off = rnd.randrange(0, len(pool) - 1)
        data = (pool[off:] + pool)[:size] if size > len(pool) - off else pool[off:off + size]
        while len(data) < size:
            data += pool[:size - len(data)]
    with open(os.path.join(d, f"f{files:05d}.dat"), "wb") as f:
        f.write(data)
    written += size
    files += 1
print(f"tree: {files} files, {written / 1e6:.0f} MB")
PY
sync

py() { python3 -c "$1"; }
now() { date +%s.%N; }
cpu_of() { awk '{printf "%.2f", $1 + $2}' "$1"; }
timed() { local out=$1; shift; /usr/bin/time -f "%U %S" -o "$out" "$@"; }

# peer NAME OUT CMD...: tar of the tree piped into CMD, into OUT, fsynced. Sets wall/cpu/size.
peer() {
  local name=$1 out=$2; shift 2
  rm -f "$out"
  local t0 t1
  t0=$(now)
  timed "$work/tar.time" tar -C "$tree" -cf - . | timed "$work/comp.time" "$@" > "$out"
  sync "$out"
  t1=$(now)
  wall=$(py "print(f'{$t1 - $t0:.3f}')")
  cpu=$(py "print(f'{$(cpu_of "$work/tar.time") + $(cpu_of "$work/comp.time"):.2f}')")
  size=$(stat -c %s "$out")
  rm -f "$out"
}

# kiln NAME COMPRESSION: layer_export_bench into a fresh content store (it fsyncs the blob).
kiln() {
  rm -rf "$work/store"
  local line
  line=$("$bin/layer_export_bench" "$tree" "$work/store" "$2" "$threads")
  wall=$(sed -E 's/.*wall=([0-9.]+).*/\1/' <<<"$line")
  cpu=$(sed -E 's/.*cpu=([0-9.]+).*/\1/' <<<"$line")
  size=$(sed -E 's/.* size=([0-9]+).*/\1/' <<<"$line")
  usize=$(sed -E 's/.*usize=([0-9]+).*/\1/' <<<"$line")
  rm -rf "$work/store"
}

declare -A W C S
add() { W[$1]=$(py "print(${W[$1]:-0} + $wall)"); C[$1]=$(py "print(${C[$1]:-0} + $cpu)"); S[$1]=$size; }
tarsize=$(tar -C "$tree" -cf - . | wc -c)
for r in $(seq "$rounds"); do
  peer gzip1 "$work/out.gz" gzip;                 add gzip1
  peer pigz "$work/out.gz" pigz -p$threads;       add pigz
  kiln kgzip gzip;                                add kgzip
  peer zstd "$work/out.zst" zstd -q -T$threads;   add zstd
  kiln kzstd zstd;                                add kzstd
  echo "round $r done" >&2
done

row() {  # name label uncompressed-size
  py "w=${W[$1]}/$rounds; c=${C[$1]}/$rounds; print(f'{\"$2\":<34} {w:8.2f}s  CPU {c:7.2f}s  {${S[$1]}/1e6:8.1f} MB  ratio {${S[$1]}/$3:.3f}')"
}
echo "tree as GNU tar: $(py "print(f'{$tarsize/1e6:.1f}')") MB; as kiln's layer tar: $(py "print(f'{$usize/1e6:.1f}')") MB; $threads threads; $rounds round(s)"
row gzip1 "tar | gzip (1 thread)" "$tarsize"
row pigz "tar | pigz -p$threads" "$tarsize"
row kgzip "kiln gzip ($threads threads)" "$usize"
row zstd "tar | zstd -T$threads" "$tarsize"
row kzstd "kiln zstd ($threads threads)" "$usize"
# Wall times swing with other load on a shared machine; CPU seconds much less, so both.
py "print(f'kiln gzip / pigz:       time {${W[kgzip]}/${W[pigz]}:.2f}x (target <= 1.25x), CPU {${C[kgzip]}/${C[pigz]}:.2f}x')"
py "print(f'tar|gzip / kiln gzip:   time {${W[gzip1]}/${W[kgzip]}:.2f}x (target >= 3x), CPU {${C[gzip1]}/${C[kgzip]}:.2f}x')"
py "print(f'kiln zstd / zstd:       time {${W[kzstd]}/${W[zstd]}:.2f}x (target <= 1.25x), CPU {${C[kzstd]}/${C[zstd]}:.2f}x')"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
