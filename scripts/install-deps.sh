#!/usr/bin/env bash
# Installs everything kiln needs to build, test and benchmark, from Debian 12's archive only.
# Usage: scripts/install-deps.sh [--build-only]
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  clang clang-format clang-tidy
  protobuf-compiler libprotobuf-dev libgrpc++-dev libnghttp2-dev protobuf-compiler-grpc
  libfmt-dev nlohmann-json3-dev libssl-dev zlib1g-dev libzstd-dev libarchive-dev
  libcurl4-openssl-dev libsqlite3-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
runtime_pkgs=(
  runc crun busybox-static attr acl openssh-client
  # CNI networking of steps (--oci-worker-net=cni): plugins in /usr/lib/cni, `ip` for the tests
  containernetworking-plugins iproute2
  # registry fixtures (tests/fixtures): registries, pushes, certificates, token signing
  docker-registry skopeo umoci python3 python3-cryptography openssl apache2-utils zstd pigz
)

# Debian's docker-registry package enables a system service on :5000 with its own config. The
# test fixtures run their own registries on free ports and need none of it, so stop it: with
# systemd, disable it; without (CI containers), its init script may still have started it.
stop_system_registry() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    if systemctl is-enabled --quiet docker-registry 2>/dev/null; then
      echo "install-deps: disabling the docker-registry system service (tests start their own)"
      $SUDO systemctl disable --now docker-registry || true
    fi
  elif [[ -x /etc/init.d/docker-registry ]] && /etc/init.d/docker-registry status >/dev/null 2>&1; then
    echo "install-deps: stopping the docker-registry system service (tests start their own)"
    $SUDO /etc/init.d/docker-registry stop || true
  fi
}

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

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  stop_system_registry
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
stop_system_registry
