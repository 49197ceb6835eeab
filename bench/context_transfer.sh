#!/usr/bin/env bash
# Context transfer benchmark (issue 2): a 20,000-file, ~200 MB tree sent to kilnd as a build's
# local context, first sync and a no-change resync, beside `tar -c | tar -x` of the same tree in
# the same run. Prints times and ratios; no pass/fail.
# Usage: bench/context_transfer.sh [build-dir]   (default build/release)
# The run gets a fresh ext4 filesystem (a loop-mounted sparse file under /var/tmp) when it runs
# as root with mkfs.ext4, so ext4's inode allocator is not slowed, differently for each side, by
# the files earlier runs deleted. BENCH_TMPDIR picks a directory instead (e.g. /dev/shm to leave
# the disk out).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
[[ -x $bin/kilnd ]] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }

img= mnt=
if [[ -z ${BENCH_TMPDIR:-} && $EUID -eq 0 ]] && command -v mkfs.ext4 >/dev/null; then
  img=$(mktemp /var/tmp/kiln-bench-XXXXXX.img)
  mnt=$(mktemp -d /var/tmp/kiln-bench-XXXXXX)
  truncate -s 4G "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$mnt"
  work=$mnt/w
  mkdir "$work"
else
  work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/kiln-bench-XXXXXX")
fi
cleanup() {
  kill "$kilnd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] && return
  grep -q " $work/root/" /proc/self/mounts && awk -v r="$work/root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r umount -l
  if [[ -n $mnt ]]; then umount "$mnt" && rm -rf "$mnt" "$img"; else rm -rf "$work"; fi
}
kilnd_pid=
trap cleanup EXIT
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
# CPU seconds (user+sys): of a finished command from /usr/bin/time's output file, and of kilnd
# so far. Wall times swing with other load on a shared machine; CPU times much less.
cpu_of() { awk '{printf "%.2f", $1 + $2}' "$1"; }
kilnd_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' /proc/$kilnd_pid/stat; }
timed() { local out=$1; shift; /usr/bin/time -f "%U %S" -o "$out" "$@"; }

"$bin/kilnd" --root "$work/root" --addr "unix://$work/kilnd.sock" > "$work/kilnd.log" 2>&1 &
kilnd_pid=$!
for _ in $(seq 100); do "$bin/kilnctl" --addr "unix://$work/kilnd.sock" debug workers >/dev/null 2>&1 && break; sleep 0.1; done

sync
t0=$(now); mkdir "$work/tarout"
timed "$work/tar-c.time" tar -C "$ctx" -cf - . | timed "$work/tar-x.time" tar -C "$work/tarout" -xf -
sync; t1=$(now)
tar_s=$(secs "$t0" "$t1")
tar_cpu=$(python3 -c "print(f'{$(cpu_of "$work/tar-c.time") + $(cpu_of "$work/tar-x.time"):.2f}')")

def=$work/def.pb
"$bin/hello_llb" --context-only > "$def"
build() {
  timed "$work/kilnctl.time" "$bin/kilnctl" --addr "unix://$work/kilnd.sock" build \
    --progress=quiet --local context="$ctx" < "$def"
}
d0=$(kilnd_cpu); t0=$(now); build; sync; t1=$(now); d1=$(kilnd_cpu)
first_s=$(secs "$t0" "$t1")
first_cpu="kilnctl $(cpu_of "$work/kilnctl.time")s, kilnd $(secs "$d0" "$d1")s"
d0=$(kilnd_cpu); t0=$(now); build; t1=$(now); d1=$(kilnd_cpu)
resync_s=$(secs "$t0" "$t1")
resync_cpu="kilnctl $(cpu_of "$work/kilnctl.time")s, kilnd $(secs "$d0" "$d1")s"

echo "tar -c | tar -x:        ${tar_s}s   CPU: tar ${tar_cpu}s"
echo "kiln first sync:        ${first_s}s   (throughput vs tar: $(python3 -c "print(f'{$tar_s / $first_s:.2f}')")x; target >= 0.5x)   CPU: ${first_cpu}"
echo "kiln no-change resync:  ${resync_s}s   (target < 0.5s)   CPU: ${resync_cpu}"
