#!/usr/bin/env bash
# End-to-end tests: a test stack of its own (deploy/test/hotline.env,
# .run/test: other ports than `make up`), sipp callers and agents, then the
# stack is taken down again whatever the outcome.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export HOTLINE_ENV_FILE="$REPO/deploy/test/hotline.env"
export HOTLINE_RUN_DIR="$REPO/.run/test"
export PATH="$PATH:/usr/local/go/bin"
cd "$REPO"

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
go test -tags e2e -count=1 -timeout 35m -v ./e2e/ 2>&1 | tee "$HOTLINE_RUN_DIR/e2e.log"
