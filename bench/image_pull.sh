#!/usr/bin/env bash
# Image pull benchmark (issue 3): pull + unpack of a ~200 MB multi-layer image from Debian's
# docker-registry on 127.0.0.1, kiln (a fresh kilnd root, the image as a build's only step)
# beside `skopeo copy` + `umoci unpack` of the same image, in the same run. Prints times and
# the ratio; no pass/fail.
# Usage: bench/image_pull.sh [build-dir] [rounds]   (default build/release, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
rounds=${2:-3}
[[ -x $bin/kilnd ]] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
py=/usr/bin/python3

work=$(mktemp -d /var/tmp/kiln-pullbench-XXXXXX)
cleanup() {
  [[ -n ${kilnd_pid:-} ]] && kill "$kilnd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  $py tests/fixtures/registry.py stop --dir "$work/reg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

$py tests/fixtures/registry.py start --mode plain --dir "$work/reg" >/dev/null
host=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['host'])" "$work/reg/state.json")
$py tests/fixtures/make-images.py --cache "${KILN_FIXTURE_CACHE:-$work/cache}" \
  --state "$work/reg/state.json" --images big --out "$work/images.json" >/dev/null
ref="$host/big:latest"
echo "image: $ref ($($py -c "import json,sys; j=json.load(open(sys.argv[1]))['images']['big']; print(len(j['layers']), 'layers,', sum(l['size'] for l in j['layers'])//1000000, 'MB compressed')" "$work/images.json"))"

now() { date +%s.%N; }
secs() { $py -c "print(f'{$2 - $1:.3f}')"; }
"$bin/hello_llb" --image "$ref" > "$work/def.pb"

kiln_total=0 peer_total=0
for i in $(seq "$rounds"); do
  rm -rf "$work/root" "$work/oci" "$work/bundle"
  "$bin/kilnd" --root "$work/root" --addr "unix://$work/kilnd.sock" > "$work/kilnd.log" 2>&1 &
  kilnd_pid=$!
  for _ in $(seq 100); do "$bin/kilnctl" --addr "unix://$work/kilnd.sock" debug workers >/dev/null 2>&1 && break; sleep 0.1; done
  sync
  t0=$(now)
  "$bin/kilnctl" --addr "unix://$work/kilnd.sock" build --progress=quiet < "$work/def.pb"
  sync; t1=$(now)
  kiln_s=$(secs "$t0" "$t1")
  kill "$kilnd_pid"; wait "$kilnd_pid" 2>/dev/null || true; kilnd_pid=

  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:big"
  umoci unpack --image "$work/oci:big" "$work/bundle" >/dev/null
  sync; t1=$(now)
  peer_s=$(secs "$t0" "$t1")
  echo "round $i: kiln ${kiln_s}s   skopeo copy + umoci unpack ${peer_s}s"
  kiln_total=$($py -c "print($kiln_total + $kiln_s)")
  peer_total=$($py -c "print($peer_total + $peer_s)")
done
echo "kiln pull+unpack is $($py -c "print(f'{$peer_total / $kiln_total:.2f}')")x the speed of skopeo+umoci (target > 1)"
