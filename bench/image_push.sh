#!/usr/bin/env bash
# Image push benchmark (issue 6): an image with one ~1 GB layer (a deterministic mix of random and
# text files) built by kilnd from a local context (FROM scratch, COPY), exported once as an OCI
# tarball (which makes the gzip layer blob), then pushed to Debian's docker-registry on
# 127.0.0.1 by kiln's image exporter (push=true, the blob reused from the export) beside
# `skopeo copy` of the same OCI tarball, each round on a fresh registry so every blob is
# uploaded (skopeo's blob info cache would mount blobs it pushed to the same registry before).
# Prints times and kiln's ratio against skopeo; no pass/fail.
# Usage: bench/image_push.sh [build-dir] [rounds]   (default build/release, 1)
# BENCH_TMPDIR picks the work directory (default /var/tmp); BENCH_MB the layer size (1024).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
rounds=${2:-1}
[[ -x $bin/kilnd && -x $bin/kilnctl ]] || {
  echo "build first: cmake --preset release && cmake --build --preset release --target kilnd kilnctl" >&2
  exit 1
}
for t in skopeo docker-registry python3; do
  command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/kiln-pushbench-XXXXXX")
kilnd_pid=
cleanup() {
  [[ -n $kilnd_pid ]] && kill "$kilnd_pid" 2>/dev/null && wait "$kilnd_pid" 2>/dev/null || true
  for d in "$work"/registry*; do
    python3 tests/fixtures/registry.py stop --dir "$d" >/dev/null 2>&1 || true
  done
  awk -v r="$work/root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r |
    xargs -r umount -l 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

ctx=$work/ctx
python3 - "$ctx/data" "${BENCH_MB:-1024}" <<'PY'
import os, random, sys
root, total_mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(9)
pool = bytearray()
while len(pool) < 4 << 20:
    pool += b"%d: image push benchmark line with some words in it\n" % rnd.randint(0, 99999)
target, written, files = total_mb << 20, 0, 0
while written < target:
    size = min(int(rnd.choice([16, 256, 1024, 8192]) * 1024 * rnd.uniform(0.5, 1.5)),
               target - written)
    d = os.path.join(root, f"d{files % 16:02d}")
    os.makedirs(d, exist_ok=True)
    data = rnd.randbytes(size) if rnd.random() < 0.5 else (pool * (size // len(pool) + 1))[:size]
    with open(os.path.join(d, f"f{files:05d}"), "wb") as f:
        f.write(data)
    written += size
    files += 1
print(f"layer tree: {files} files, {written / 1e6:.0f} MB")
PY
printf 'FROM scratch\nCOPY data /data\n' > "$ctx/Dockerfile"

addr=unix://$work/kilnd.sock
"$bin/kilnd" --root "$work/root" --addr "$addr" >"$work/kilnd.log" 2>&1 &
kilnd_pid=$!
for _ in $(seq 100); do [[ -S $work/kilnd.sock ]] && break; sleep 0.1; done

build() {
  "$bin/kilnctl" --addr "$addr" build --progress=plain --frontend dockerfile.v0 \
    --local context="$ctx" --local dockerfile="$ctx" --output "$1" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; exit 1; }
}
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

t0=$(now)
build "type=oci,dest=$work/img.tar"
t1=$(now)
echo "build + export to an OCI tarball (context transfer, layer diff, gzip): $(sub "$t0" "$t1") s"
ls -l "$work/img.tar" | awk '{printf "tarball: %.0f MB\n", $5 / 1e6}'

for r in $(seq "$rounds"); do
  mkdir -p "$work/registry$r"
  state=$(python3 tests/fixtures/registry.py start --dir "$work/registry$r" --mode plain)
  host=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["host"])' "$state")
  t0=$(now)
  build "type=image,name=$host/kiln/push$r:latest,push=true"
  t1=$(now)
  skopeo copy -q --dest-tls-verify=false "oci-archive:$work/img.tar" \
    "docker://$host/skopeo/push$r:latest"
  t2=$(now)
  python3 tests/fixtures/registry.py stop --dir "$work/registry$r" >/dev/null
  kiln=$(sub "$t0" "$t1")
  peer=$(sub "$t1" "$t2")
  printf 'round %d: kiln push (cached build + push) %s s, skopeo copy %s s, ratio kiln/skopeo %s\n' \
    "$r" "$kiln" "$peer" "$(awk -v a="$kiln" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')"
done
