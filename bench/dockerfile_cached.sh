#!/usr/bin/env bash
# Fully cached Dockerfile rebuilds (issue 5): a small Dockerfile (3 stages) and a generated
# 200-stage one, each built once and then rebuilt `rounds` times through the real kilnd and
# kilnctl (the dockerfile.v0 frontend over LLBBridge, no export), printed beside an uncached
# parse + convert of the same Dockerfile alone (dockerfile_convert_bench, in process). The
# rebuild time is kilnctl's whole run: process start, session, context check, frontend, solve.
# Target: the small one under 20 ms end to end (BuildKit: 55-70 ms on this kind of machine).
# Prints times and ratios; no pass/fail.
# Usage: bench/dockerfile_cached.sh [build-dir] [rounds]   (default build/release, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
rounds=${2:-10}
[[ -x $bin/kilnd && -x $bin/dockerfile_convert_bench ]] || {
  echo "build first: cmake --preset release && cmake --build --preset release --target kilnd kilnctl dockerfile_convert_bench" >&2
  exit 1
}
py=/usr/bin/python3

work=$(mktemp -d /var/tmp/kiln-dfbench-XXXXXX)
cleanup() {
  [[ -n ${kilnd_pid:-} ]] && kill "$kilnd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The small Dockerfile: two independent stages and a final one copying from both.
mkdir -p "$work/small" "$work/big"
echo a > "$work/small/a.txt"
echo b > "$work/small/b.txt"
cat > "$work/small/Dockerfile" <<'DF'
FROM scratch AS a
COPY a.txt /a/
FROM scratch AS b
COPY b.txt /b/
FROM scratch
COPY --from=a /a /a
COPY --from=b /b /b
ENV MODE=release
CMD ["/app"]
DF
# The big one: 200 stages, each copying its own file and the previous stage's tree.
for i in $(seq 0 199); do echo "$i" > "$work/big/f$i.txt"; done
{
  echo "FROM scratch AS s0"
  echo "COPY f0.txt /"
  for i in $(seq 1 199); do
    echo "FROM scratch AS s$i"
    echo "COPY --from=s$((i - 1)) / /"
    echo "COPY f$i.txt /"
    echo "ENV STAGE=$i"
  done
} > "$work/big/Dockerfile"

"$bin/kilnd" --root "$work/root" --addr "unix://$work/kilnd.sock" > "$work/kilnd.log" 2>&1 &
kilnd_pid=$!
kctl() { "$bin/kilnctl" --addr "unix://$work/kilnd.sock" "$@"; }
for _ in $(seq 100); do
  kctl debug workers >/dev/null 2>&1 && break
  sleep 0.1
done

build() {
  kctl build --progress=quiet --frontend dockerfile.v0 --local "context=$1" --local "dockerfile=$1"
}
# Median wall time of `rounds` cached builds, in ms. The clock is bash's own $EPOCHREALTIME:
# $(date) would add a process start (1-3 ms on these machines) to every figure.
cached() {
  build "$1" >/dev/null  # the first build fills the cache
  for _ in $(seq "$rounds"); do
    s=$EPOCHREALTIME
    build "$1" >/dev/null
    e=$EPOCHREALTIME
    echo "$s $e"
  done | $py -c "import sys, statistics; v=[(float(e)-float(s))*1000 for s, e in (l.split() for l in sys.stdin)]; print(f'{statistics.median(v):.1f}')"
}

printf '%-22s %14s %22s %8s\n' "Dockerfile" "cached build" "parse+convert alone" "ratio"
for name in small big; do
  c=$(cached "$work/$name")
  read -r conv _fast ops < <("$bin/dockerfile_convert_bench" "$work/$name/Dockerfile" 50)
  label=$([[ $name == small ]] && echo "small (3 stages)" || echo "200 stages")
  ratio=$($py -c "print(f'{$c / $conv:.1f}x')")
  printf '%-22s %11s ms %19s ms %8s   (%s ops)\n' "$label" "$c" "$conv" "$ratio" "$ops"
done
echo "target: the small Dockerfile's cached build under 20 ms"
