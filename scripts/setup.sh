#!/usr/bin/env bash
# Installs what ambit needs on a Debian 12 machine and builds it. Safe to run
# again: each step is skipped when its result is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the eBPF toolchain and libraries for the native addon,
# iproute2 for the network-namespace cluster, openssl for certificate checks,
# prometheus for the tests that scrape real metrics, iperf3 and wrk for the
# data-plane bench, nftables for the partition faults of the chaos suite.
DEB_PACKAGES=(clang llvm libbpf-dev libelf-dev bpftool iproute2 zlib1g-dev openssl prometheus tcpdump curl make g++ python3 iperf3 wrk nftables)
command -v kubectl >/dev/null 2>&1 || DEB_PACKAGES+=(kubernetes-client) # renders deploy/ (kubectl kustomize); an existing kubectl is kept

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# npm dependencies, exactly as locked.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund
fi

echo "setup: building"
npm run build
