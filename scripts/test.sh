#!/usr/bin/env bash
# Runs every test (unit, integration over real sockets, e2e in network
# namespaces). Installs whatever is missing first. Needs root for the eBPF and
# network-namespace tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
