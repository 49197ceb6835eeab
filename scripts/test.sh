#!/usr/bin/env bash
# The whole test suite: configures the ASan+UBSan build, builds everything (warnings are errors)
# and runs unit and integration tests with ctest. Needs root for the integration tests
# (they create files owned by other users and device nodes, as builds do).
# Usage: scripts/test.sh [preset]   (default: asan)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-asan}

export CCACHE_DIR=${CCACHE_DIR:-/var/cache/kiln-ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Paths below the checkout are hashed relative to it, so clones in other folders share the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
# -g would otherwise put the build directory into every hash (and miss across clones).
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
mkdir -p "$CCACHE_DIR"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

python3 scripts/check-layering.py
cmake --preset "$preset"
cmake --build --preset "$preset"
ccache -s | grep -E 'Hits|Misses' || true
ctest --preset "$preset" -j2 --timeout 900
