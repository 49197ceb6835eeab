#!/usr/bin/env bash
# Installs everything kiln needs to build, test and benchmark, from Debian 12's archive only.
# Usage: scripts/install-deps.sh [--build-only]
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  clang clang-format clang-tidy
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc
  libfmt-dev nlohmann-json3-dev libssl-dev zlib1g-dev libzstd-dev libarchive-dev
  libcurl4-openssl-dev libsqlite3-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
runtime_pkgs=(
  runc crun busybox-static attr acl
)

want=("${build_pkgs[@]}")
if [[ "${1:-}" != "--build-only" ]]; then
  want+=("${runtime_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
