#!/usr/bin/env bash
# Context transfer benchmark (issue 2): a 20,000-file, ~200 MB tree sent to kilnd as a build's
# local context, first sync and a no-change resync, beside `tar -c | tar -x` of the same tree in
# the same run. Prints times and ratios; no pass/fail.
# Usage: bench/context_transfer.sh [build-dir]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
[[ -x $bin/kilnd ]] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }

work=$(mktemp -d /var/tmp/kiln-bench-XXXXXX)
trap 'kill $kilnd_pid 2>/dev/null || true; wait 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
ctx=$work/ctx
python3 - "$ctx" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
total = 0
for i in range(20000):
    d = os.path.join(root, f"d{i % 200:03d}", f"s{i % 7}")
    os.makedirs(d, exist_ok=True)
    size = rnd.choice([100, 1000, 4000, 10000, 20000, 25000])
    with open(os.path.join(d, f"f{i:05d}.dat"), "wb") as f:
        f.write(os.urandom(size))
    total += size
print(f"tree: 20000 files, {total / 1e6:.0f} MB")
PY

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }

"$bin/kilnd" --root "$work/root" --addr "unix://$work/kilnd.sock" > "$work/kilnd.log" 2>&1 &
kilnd_pid=$!
for _ in $(seq 100); do "$bin/kilnctl" --addr "unix://$work/kilnd.sock" debug workers >/dev/null 2>&1 && break; sleep 0.1; done

sync
t0=$(now); mkdir "$work/tarout"; tar -C "$ctx" -cf - . | tar -C "$work/tarout" -xf -; sync; t1=$(now)
tar_s=$(secs "$t0" "$t1")

def=$work/def.pb
"$bin/hello_llb" --context-only > "$def"
build() { "$bin/kilnctl" --addr "unix://$work/kilnd.sock" build --progress=quiet --local context="$ctx" < "$def"; }
t0=$(now); build; sync; t1=$(now)
first_s=$(secs "$t0" "$t1")
t0=$(now); build; t1=$(now)
resync_s=$(secs "$t0" "$t1")

echo "tar -c | tar -x:        ${tar_s}s"
echo "kiln first sync:        ${first_s}s   (throughput vs tar: $(python3 -c "print(f'{$tar_s / $first_s:.2f}')")x; target >= 0.5x)"
echo "kiln no-change resync:  ${resync_s}s   (target < 0.5s)"
