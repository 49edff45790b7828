#!/usr/bin/env bash
# The main job: installs whatever is missing (Debian packages, npm
# dependencies, the build), then brings the local mesh up — a netns cluster
# of two nodes, istiod, one node agent per node — with Istio's Bookinfo and
# curl in the ambient `default` namespace, and shows a request from curl to
# productpage going through the mesh in mTLS, with the identities of both
# sides as the agents counted them. Options go to `ambit mesh up`
# (`--demo frontend-backend` for the older demo, `--nodes 3`, ...).
# Needs root (network namespaces, cgroups, eBPF).
#
# Afterwards:  ./bin/ambit mesh get pods     ./bin/ambit mesh status     ./bin/ambit mesh down
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: the local mesh needs root (network namespaces, cgroups, eBPF); run with sudo" >&2
  exit 2
fi
bash scripts/setup.sh

state_dir=.ambit/mesh
demo=bookinfo
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --state-dir) state_dir="${args[$((i + 1))]:-$state_dir}" ;;
    --state-dir=*) state_dir="${args[$i]#--state-dir=}" ;;
    --demo) demo="${args[$((i + 1))]:-$demo}" ;;
    --demo=*) demo="${args[$i]#--demo=}" ;;
    --no-demo) demo=none ;;
  esac
done

./bin/ambit mesh up "$@"
[ "$demo" = bookinfo ] || exit 0

sd=(--state-dir "$state_dir")
echo
echo '$ ambit mesh exec deploy/curl -- curl -s http://productpage:9080/productpage'
page=$(./bin/ambit mesh exec "${sd[@]}" deploy/curl -- curl -sS -m 10 http://productpage:9080/productpage)
grep -o '<title>[^<]*</title>' <<<"$page" | sed 's/<[^>]*>//g; s/^/  page: /'
grep -o 'Reviews served by: [a-z0-9-]*' <<<"$page" | sort -u | sed 's/^/  /'
echo
echo 'how the agents counted it (istio_tcp_connections_opened_total, both ends):'
node -e '
const state = JSON.parse(require("fs").readFileSync(process.argv[1] + "/mesh.json", "utf8"));
(async () => {
  for (const a of state.agents) {
    const text = await (await fetch(`http://${a.statsAddress}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (!line.startsWith("istio_tcp_connections_opened_total{") || !line.includes("sa/curl\"") || !line.includes("bookinfo-productpage")) continue;
      const label = (k) => (new RegExp(`${k}="([^"]*)"`).exec(line) || [])[1];
      console.log(`  ${a.node} (reporter=${label("reporter")}): ${label("source_principal")} -> ${label("destination_principal")} [${label("connection_security_policy")}]`);
    }
  }
})();
' "$state_dir"
echo
echo "try next:  ./bin/ambit mesh get pods -o wide    ./bin/ambit ztunnel-config workloads    ./bin/ambit mesh down"
