#!/usr/bin/env bash
# RUN step benchmark (issue 4): a chain of 20 uncached `RUN true` steps over a busybox root
# filesystem, kiln's time per step beside `<runtime> run` of an equivalent bundle 20 times, in
# the same run, for runc and crun (crun is skipped with kilnd's reason where it cannot start
# containers). The peer is the equivalent bundle: the config.json kiln itself generates (captured
# from a running step: BuildKit's capabilities, seccomp profile, masked paths) over the same
# rootfs, so the ratio is what kiln adds around the runtime. For context, also the runtime's own
# default bundle (`runc spec`), which has no seccomp filter: compiling the filter costs runc about
# 20-25 ms per start on these machines (BuildKit pays it too). Prints times and ratios; no
# pass/fail.
# Usage: bench/exec_steps.sh [build-dir] [rounds]   (default build/release, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
rounds=${2:-3}
steps=20
[[ -x $bin/kilnd ]] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
py=/usr/bin/python3

work=$(mktemp -d /var/tmp/kiln-execbench-XXXXXX)
cleanup() {
  [[ -n ${kilnd_pid:-} ]] && kill "$kilnd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The root filesystem: busybox-static and its applets.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for a in sh true sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$work/rootfs/etc/passwd"
echo "root:x:0:" > "$work/rootfs/etc/group"

now() { date +%s.%N; }
secs() { $py -c "print(f'{$2 - $1:.4f}')"; }
kctl() { "$bin/kilnctl" --addr "unix://$work/kilnd.sock" "$@"; }

for runtime in runc crun; do
  rm -rf "$work/root"
  "$bin/kilnd" --root "$work/root" --addr "unix://$work/kilnd.sock" --oci-worker-binary "$runtime" \
    > "$work/kilnd.log" 2>&1 &
  kilnd_pid=$!
  up=0
  for _ in $(seq 100); do
    kctl debug workers >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$kilnd_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ $up == 0 ]]; then
    echo "$runtime: skipped: $(tail -n 1 "$work/kilnd.log")"
    kilnd_pid=
    continue
  fi
  # The context is sent once; later builds only check it.
  "$bin/hello_llb" --run-chain 0 warm | kctl build --progress=quiet --local context="$work/rootfs"

  # The peer: the same root filesystem as an OCI bundle, `true` as the process.
  rm -rf "$work/bundle"; mkdir -p "$work/bundle"
  (cd "$work/bundle" && "$runtime" spec >/dev/null 2>&1 || runc spec)
  $py - "$work/bundle/config.json" "$work/rootfs" <<'PY'
import json, sys
p, root = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
c["root"] = {"path": root, "readonly": True}
json.dump(c, open(p, "w"))
PY
  # kiln's own bundle for the same step: captured while a `sleep` step runs.
  rm -rf "$work/kbundle"
  "$bin/hello_llb" --run-chain 1 "cap$RANDOM" sleep 1 > "$work/sleep.pb"
  kctl build --progress=quiet --local context="$work/rootfs" < "$work/sleep.pb" &
  capture_pid=$!
  for _ in $(seq 400); do
    b=$(ls -d "$work"/root/worker/executor/bundles/*/ 2>/dev/null | head -n 1 || true)
    if [[ -n $b && -f $b/config.json ]]; then cp -r "$b" "$work/kbundle"; break; fi
    sleep 0.005
  done
  wait "$capture_pid"
  $py - "$work/kbundle/config.json" "$work/rootfs" "$work/kbundle" <<'PY'
import json, sys
p, root, bundle = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(p))
c["process"]["args"] = ["true"]
c["root"] = {"path": root, "readonly": True}
for m in c["mounts"]:
    if "/executor/bundles/" in m.get("source", ""):
        m["source"] = bundle + "/" + m["source"].rsplit("/", 1)[1]
json.dump(c, open(p, "w"))
PY
  kiln_total=0 peer_total=0 own_total=0
  for r in $(seq "$rounds"); do
    tag="r$r-$RANDOM$RANDOM"
    "$bin/hello_llb" --run-chain 0 "$tag" > "$work/zero.pb"
    "$bin/hello_llb" --run-chain "$steps" "$tag" > "$work/chain.pb"
    t0=$(now); kctl build --progress=quiet --local context="$work/rootfs" < "$work/zero.pb"; t1=$(now)
    base=$(secs "$t0" "$t1")
    t0=$(now); kctl build --progress=quiet --local context="$work/rootfs" < "$work/chain.pb"; t1=$(now)
    chain=$(secs "$t0" "$t1")
    kiln_step=$($py -c "print(f'{($chain - $base) / $steps * 1000:.1f}')")

    t0=$(now)
    for i in $(seq "$steps"); do
      "$runtime" --root "$work/rt-state" run --bundle "$work/bundle" "bench-$r-$i" >/dev/null
    done
    t1=$(now)
    peer_step=$($py -c "print(f'{($t1 - $t0) / $steps * 1000:.1f}')")
    t0=$(now)
    for i in $(seq "$steps"); do
      "$runtime" --root "$work/rt-state" run --bundle "$work/kbundle" "benchk-$r-$i" >/dev/null
    done
    t1=$(now)
    own_step=$($py -c "print(f'{($t1 - $t0) / $steps * 1000:.1f}')")
    own_total=$($py -c "print($own_total + $own_step)")
    echo "$runtime round $r: kiln ${kiln_step} ms/step (chain ${chain}s, empty build ${base}s)   $runtime run ${peer_step} ms/run (default spec), ${own_step} ms/run (kiln's config)"
    kiln_total=$($py -c "print($kiln_total + $kiln_step)")
    peer_total=$($py -c "print($peer_total + $peer_step)")
  done
  echo "$runtime: kiln's RUN step costs $($py -c "print(f'{$kiln_total / $own_total:.2f}')")x '$runtime run' of the equivalent bundle (the config.json kiln runs: same mounts, capabilities, seccomp filter) (target <= 1.5)"
  echo "$runtime: and $($py -c "print(f'{$kiln_total / $peer_total:.2f}')")x '$runtime run' of '$runtime spec''s default bundle, which has no seccomp filter (the runtime compiling kiln's filter is most of that difference)"
  kill "$kilnd_pid"; wait "$kilnd_pid" 2>/dev/null || true; kilnd_pid=
done
