#!/usr/bin/env bash
# The main job: installs whatever is missing, builds, then starts istiod on
# the sample mesh in examples/mesh/ (frontend and backend in the ambient
# "demo" namespace, STRICT mTLS, an L4 policy). Ctrl-C stops it.
#
# What to try while it runs (another shell):
#   curl -s localhost:15014/debug/configz | head
#   curl -s localhost:15014/debug/syncz
#   curl -s localhost:15014/metrics | grep pilot_
#   ./bin/ambit validate -f examples/mesh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
STATE_DIR="${AMBIT_STATE_DIR:-.ambit}"
mkdir -p "$STATE_DIR/ca"
exec ./bin/ambit istiod \
  --config-dir examples/mesh \
  --ca-dir "$STATE_DIR/ca" \
  --tokens examples/tokens.yaml \
  --trust-domain cluster.local \
  "$@"
