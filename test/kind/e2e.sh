#!/usr/bin/env bash
# ambit on a real Kubernetes cluster (kind), end to end:
#
#   1. creates a kind cluster from deploy/overlays/kind/kind-config.yaml and
#      mounts a bpffs in every node;
#   2. builds the image (deploy/Dockerfile) as ambit:dev and loads it into
#      the nodes;
#   3. applies deploy/overlays/kind, waits for istiod and the root ConfigMap,
#      sets the webhook's caBundle to the mesh root, waits for the ztunnel
#      DaemonSet;
#   4. checks istiod's validating webhook refuses an invalid policy;
#   5. labels a namespace istio.io/dataplane-mode=ambient, deploys
#      test/kind/demo.yaml (frontend, backend) and checks that frontend
#      reaches backend and that the node agents count the connection as
#      connection_security_policy="mutual_tls";
#   6. applies test/kind/deny-frontend.yaml and checks the connection is
#      refused, then deletes it and checks traffic flows again;
#   7. deletes the cluster (unless --keep), also on failure (after printing
#      the pods, events and the control plane's and agents' logs).
#
# Needs docker, kind and kubectl, a Linux host with cgroup v2 and a kernel
# with BTF (5.8+), and network access to pull the base and demo images. Not
# part of CI. Usage:
#
#   test/kind/e2e.sh [--keep] [--no-build] [--name CLUSTER]
#
#   --keep       leave the cluster running (delete: kind delete cluster --name CLUSTER)
#   --no-build   use an existing ambit:dev image instead of building it
#   --name       cluster name (default ambit-e2e)
#
# Exit status: 0 all checks passed, 1 a check or a step failed, 2 usage or a
# missing tool.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CLUSTER=ambit-e2e
IMAGE=ambit:dev
KEEP=0
BUILD=1
NS=ambit-e2e-demo
WAIT_SECONDS=180

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    --name) [ $# -ge 2 ] || { echo "e2e: --name needs a value" >&2; exit 2; }; CLUSTER=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "e2e: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

for tool in docker kind kubectl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "e2e: $tool is not installed; this test needs docker, kind and kubectl (see docs/kubernetes.md)" >&2
    exit 2
  fi
done
if ! docker info >/dev/null 2>&1; then
  echo "e2e: docker is installed but its daemon is not reachable (is it running, may this user use it?)" >&2
  exit 2
fi

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "e2e: FAIL: $*" >&2; exit 1; }
KUBECTL=(kubectl --context "kind-$CLUSTER")
k() { "${KUBECTL[@]}" "$@"; }

# Runs "$@" until it succeeds, at most $1 seconds (one try per 2 s).
retry() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 2
  done
}

created=0
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$created" -eq 1 ]; then
    echo "--- diagnostics (exit $status) ---" >&2
    k get pods -A -o wide >&2 || true
    k get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -n 40 >&2 || true
    k -n istio-system logs deploy/istiod --tail=100 >&2 || true
    k -n istio-system logs ds/ztunnel --all-containers --prefix --tail=100 >&2 || true
  fi
  if [ "$created" -eq 1 ]; then
    if [ "$KEEP" -eq 1 ]; then
      echo "e2e: keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
    else
      kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || echo "e2e: could not delete cluster $CLUSTER" >&2
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clusters=$(kind get clusters 2>/dev/null || true)
if grep -qx "$CLUSTER" <<<"$clusters"; then
  echo "e2e: a kind cluster named $CLUSTER already exists; delete it or pass --name" >&2
  exit 2
fi

if [ "$BUILD" -eq 1 ]; then
  step "building $IMAGE from deploy/Dockerfile"
  DOCKER_BUILDKIT=1 docker build -f "$REPO/deploy/Dockerfile" -t "$IMAGE" "$REPO"
elif ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "e2e: --no-build but there is no $IMAGE image" >&2
  exit 2
fi

step "creating kind cluster $CLUSTER"
created=1
kind create cluster --name "$CLUSTER" --config "$REPO/deploy/overlays/kind/kind-config.yaml" --wait 120s

step "preparing the nodes (cgroup v2, bpffs)"
for node in $(kind get nodes --name "$CLUSTER"); do
  fs=$(docker exec "$node" stat -fc %T /sys/fs/cgroup)
  [ "$fs" = cgroup2fs ] || fail "node $node: /sys/fs/cgroup is $fs, the agent needs cgroup v2"
  docker exec "$node" sh -c 'grep -q " /sys/fs/bpf bpf " /proc/mounts || mount -t bpf bpf /sys/fs/bpf'
done

step "loading $IMAGE into the nodes"
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "applying deploy/overlays/kind"
k apply -k "$REPO/deploy/overlays/kind"
k wait --for=condition=Established crd --all --timeout=60s
k -n istio-system rollout status deploy/istiod --timeout="${WAIT_SECONDS}s"

step "waiting for the root ConfigMap and setting the webhook's caBundle"
# (grep reads captured text, never a pipe: with pipefail an early grep -q exit would fail the writer.)
root_cm() {
  local pem
  pem=$(k -n istio-system get configmap istio-ca-root-cert -o 'jsonpath={.data.root-cert\.pem}' 2>/dev/null) || return 1
  grep -q 'BEGIN CERTIFICATE' <<<"$pem"
}
retry 60 root_cm || fail "istiod did not publish ConfigMap istio-ca-root-cert in istio-system"
ca_bundle=$(k -n istio-system get configmap istio-ca-root-cert -o 'jsonpath={.data.root-cert\.pem}' | base64 | tr -d '\n')
k patch validatingwebhookconfiguration istio-validator-istio-system --type=json \
  -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca_bundle\"},{\"op\":\"replace\",\"path\":\"/webhooks/0/failurePolicy\",\"value\":\"Fail\"}]"

step "waiting for the node agents"
k -n istio-system rollout status ds/ztunnel --timeout="${WAIT_SECONDS}s"

step "checking that the webhook refuses an invalid AuthorizationPolicy"
k create namespace "$NS"
k label namespace "$NS" istio.io/dataplane-mode=ambient
denied() {
  local out
  if out=$(k -n "$NS" apply -f "$REPO/test/kind/invalid-policy.yaml" 2>&1); then
    k -n "$NS" delete -f "$REPO/test/kind/invalid-policy.yaml" --ignore-not-found >/dev/null
    echo "$out" >&2
    return 1
  fi
  echo "$out"
  grep -q 'denied the request' <<<"$out"
}
retry 30 denied || fail "the invalid policy was not refused by the webhook"

step "deploying frontend and backend in ambient namespace $NS"
k -n "$NS" apply -f "$REPO/test/kind/demo.yaml"
k -n "$NS" rollout status deploy/backend --timeout="${WAIT_SECONDS}s"
k -n "$NS" rollout status deploy/frontend --timeout="${WAIT_SECONDS}s"

call_backend() { k -n "$NS" exec deploy/frontend -- curl -sS --max-time 5 "http://backend.$NS.svc.cluster.local:8080/hostname"; }
refused() { ! call_backend >/dev/null 2>&1; }

step "frontend -> backend"
retry 60 call_backend || fail "frontend could not reach backend"
echo

# The agents' metrics, all nodes, from inside the agent containers (the image has node, not curl).
agent_metrics() {
  local pod
  for pod in $(k -n istio-system get pods -l app=ztunnel -o name); do
    k -n istio-system exec "$pod" -c istio-proxy -- node -e \
      "fetch('http://127.0.0.1:15020/metrics').then((r) => r.text()).then((t) => process.stdout.write(t)).catch((e) => { console.error(String(e)); process.exit(1); })"
  done
}
backend_opened() {
  local text
  text=$(agent_metrics) || return 1
  grep '^istio_tcp_connections_opened_total{' <<<"$text" | grep 'destination_workload="backend"' || true
}
mtls_counted() {
  local lines
  lines=$(backend_opened) || return 1
  grep -q 'connection_security_policy="mutual_tls"' <<<"$lines"
}

step "checking the agents counted the connection as mutual TLS"
retry 30 mtls_counted || fail 'no istio_tcp_connections_opened_total{connection_security_policy="mutual_tls",destination_workload="backend"} on any agent'
opened=$(backend_opened)
sed -n '1,3p' <<<"$opened"

step "applying a DENY policy for frontend's identity"
sed "s/NAMESPACE/$NS/" "$REPO/test/kind/deny-frontend.yaml" | k -n "$NS" apply -f -
retry 60 refused || fail "frontend still reaches backend under the DENY policy"
echo "refused as expected"

step "deleting the policy"
k -n "$NS" delete authorizationpolicy deny-frontend
retry 60 call_backend || fail "frontend does not reach backend after the DENY policy was deleted"
echo

step "PASS"
