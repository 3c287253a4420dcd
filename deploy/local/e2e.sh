#!/usr/bin/env bash
# End-to-end tests: a test stack of its own (deploy/test/hotline.env,
# .run/test: other ports than `make up`), sipp callers and agents, then the
# stack is taken down again whatever the outcome.
#
#   deploy/local/e2e.sh                  every end-to-end test (`make test`)
#   deploy/local/e2e.sh -run TestNotices any `go test` flags, e.g. one test
#
# The test stack's ports and its Asterisk instance are one per machine, and a
# benchmark run must not share the CPU with it: the whole run holds
# HOTLINE_STACK_LOCK (/tmp/hotline-e2e.lock), the lock bench/load.sh takes too.
# A second run waits for the first.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export HOTLINE_ENV_FILE="$REPO/deploy/test/hotline.env"
export HOTLINE_RUN_DIR="$REPO/.run/test"
export PATH="$PATH:/usr/local/go/bin"
LOCK="${HOTLINE_STACK_LOCK:-/tmp/hotline-e2e.lock}"
cd "$REPO"

if [[ "${HOTLINE_STACK_LOCKED:-}" != "$LOCK" ]]; then
  echo "e2e: waiting for $LOCK (held by another end-to-end or benchmark run)" >&2
  # -o: the daemons started under the lock must not inherit it.
  HOTLINE_STACK_LOCKED="$LOCK" exec flock -o "$LOCK" "$0" "$@"
fi

down() {
  local rc=$?
  if [[ $rc -ne 0 && -f "$HOTLINE_RUN_DIR/hotline.log" ]]; then
    echo "=== controller log (tail) ===" >&2
    tail -60 "$HOTLINE_RUN_DIR/hotline.log" >&2
  fi
  deploy/local/hotline.sh down >/dev/null 2>&1 || true
  exit $rc
}
trap down EXIT

# Start from nothing: an earlier run's Redis data must not leak into this one.
deploy/local/hotline.sh down >/dev/null 2>&1 || true
rm -rf "$HOTLINE_RUN_DIR/redis" "$HOTLINE_RUN_DIR/prometheus"
deploy/local/hotline.sh up
go test -tags e2e -count=1 -timeout 35m -v "$@" ./e2e/ 2>&1 | tee "$HOTLINE_RUN_DIR/e2e.log"
