#!/usr/bin/env bash
# End-to-end tests of the cluster: the test cluster (deploy/test-cluster,
# .run/test-cluster: ports of its own) is started from nothing, the
# e2ecluster tests run (sipp calls through Kamailio into two Asterisk nodes,
# node and Redis-master failures), and the cluster is taken down whatever
# the outcome.
#
#   deploy/local/e2e-cluster.sh                       every cluster test (`make test`)
#   deploy/local/e2e-cluster.sh -run TestNodeKilled   any `go test` flags
#
# It holds the machine's stack lock (HOTLINE_STACK_LOCK, /tmp/hotline-e2e.lock)
# like deploy/local/e2e.sh and bench/load.sh, so runs never share the CPU.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export HOTLINE_CLUSTER_ENV="$REPO/deploy/test-cluster"
export HOTLINE_CLUSTER_RUN="$REPO/.run/test-cluster"
export PATH="$PATH:/usr/local/go/bin"
LOCK="${HOTLINE_STACK_LOCK:-/tmp/hotline-e2e.lock}"
cd "$REPO"

if [[ "${HOTLINE_STACK_LOCKED:-}" != "$LOCK" ]]; then
  echo "e2e-cluster: waiting for $LOCK (held by another end-to-end or benchmark run)" >&2
  HOTLINE_STACK_LOCKED="$LOCK" exec flock -o "$LOCK" "$0" "$@"
fi

down() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    for f in "$HOTLINE_CLUSTER_RUN"/test-cluster-*/hotline.log "$HOTLINE_CLUSTER_RUN/kamailio.log"; do
      [[ -f "$f" ]] || continue
      echo "=== $f (tail) ===" >&2
      tail -30 "$f" >&2
    done
  fi
  deploy/local/cluster.sh down >/dev/null 2>&1 || true
  exit $rc
}
trap down EXIT

# Start from nothing: no Redis data, no sentinel state from an earlier run.
deploy/local/cluster.sh down >/dev/null 2>&1 || true
rm -rf "$HOTLINE_CLUSTER_RUN"/redis-* "$HOTLINE_CLUSTER_RUN"/sentinel-* "$HOTLINE_CLUSTER_RUN/prometheus"
start=$SECONDS
deploy/local/cluster.sh up
echo "e2e-cluster: cluster up in $((SECONDS - start)) s" >&2
go test -tags e2ecluster -count=1 -timeout 20m -v "$@" ./e2e/cluster/ 2>&1 | tee "$HOTLINE_CLUSTER_RUN/e2e.log"
echo "e2e-cluster: $((SECONDS - start)) s in all" >&2
