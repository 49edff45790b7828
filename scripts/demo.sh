#!/usr/bin/env bash
# The main job: installs whatever is missing (Debian packages, npm
# dependencies, the build), then brings the local mesh demo up: a netns
# cluster of two nodes, istiod, one node agent per node, and the frontend /
# backend demo in the ambient "demo" namespace with traffic flowing.
# Needs root (network namespaces, cgroups, eBPF).
#
# Afterwards:  ./bin/ambit mesh status      ./bin/ambit mesh down
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: the local mesh needs root (network namespaces, cgroups, eBPF); run with sudo" >&2
  exit 2
fi
bash scripts/setup.sh
exec ./bin/ambit mesh up "$@"
