#!/usr/bin/env bash
# Brings the whole local hotline up or down: Redis, Asterisk and the
# controller, with prompts rendered and the demo accounts loaded.
#
#   deploy/local/hotline.sh up     idempotent; returns when calls can be taken
#   deploy/local/hotline.sh down   stops the controller, Asterisk and Redis
#   deploy/local/hotline.sh restart-controller
#   deploy/local/hotline.sh controller-up | controller-down   the controller alone
#                                               (deploy/local/cluster.sh starts one per node)
#   deploy/local/hotline.sh replica-up FILE     another controller replica on the same
#   deploy/local/hotline.sh replica-down FILE   Redis and Asterisk: FILE's settings (its own
#                                               HOTLINE_REPLICA_ID, HOTLINE_ARI_APP, HOTLINE_HTTP_ADDR)
#                                               win over HOTLINE_ENV_FILE's; e.g. deploy/test/replica2.env.
#                                               Pid and log: $HOTLINE_RUN_DIR/hotline-<FILE's name>.{pid,log}
#
# HOTLINE_ENV_FILE (default deploy/dev/hotline.env) and HOTLINE_RUN_DIR
# (default .run/dev) select the instance; `make test` uses deploy/test and
# .run/test so it never disturbs a developer's running stack.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export HOTLINE_ENV_FILE="${HOTLINE_ENV_FILE:-$REPO/deploy/dev/hotline.env}"
export HOTLINE_RUN_DIR="${HOTLINE_RUN_DIR:-$REPO/.run/dev}"
export PATH="$PATH:/usr/local/go/bin"
STACK="$REPO/deploy/local/stack.sh"
RUN="$HOTLINE_RUN_DIR"
# Relative paths in the env file (e.g. HOTLINE_POLICY_FILE) are relative to the repository.
cd "$REPO"
BIN="$RUN/bin/hotline"
PIDFILE="$RUN/hotline.pid"
LOGFILE="$RUN/hotline.log"

log() { echo "hotline: $*" >&2; }

# The controller's HTTP address, from the env file unless overridden.
http_addr() {
  local v="${HOTLINE_HTTP_ADDR:-}"
  [[ -n "$v" ]] || v="$(sed -n 's/^HOTLINE_HTTP_ADDR=//p' "$HOTLINE_ENV_FILE" | tail -1)"
  echo "${v:-127.0.0.1:8080}"
}

# shellcheck source=deploy/local/lib.sh
source "$REPO/deploy/local/lib.sh" # pid_alive
die() { echo "hotline: error: $*" >&2; exit 1; }

controller_running() {
  [[ -f "$PIDFILE" ]] && pid_alive "$(cat "$PIDFILE")"
}

healthy() { curl -fsS -o /dev/null "http://$(http_addr)/healthz" 2>/dev/null; }

controller_up() {
  if controller_running && healthy; then
    log "controller already running (pid $(cat "$PIDFILE"))"
    return
  fi
  controller_down
  log "starting controller (log: $LOGFILE)"
  setsid nohup "$BIN" serve >>"$LOGFILE" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 150); do
    if healthy; then
      log "controller ready on http://$(http_addr)"
      return
    fi
    controller_running || { tail -20 "$LOGFILE" >&2; log "controller exited"; exit 1; }
    sleep 0.2
  done
  tail -20 "$LOGFILE" >&2
  log "controller not healthy after 30 s"
  exit 1
}

controller_down() {
  if controller_running; then
    local pid
    pid="$(cat "$PIDFILE")"
    kill -TERM "$pid" 2>/dev/null || true
    # Up to the shutdown grace (10 s by default) for calls to drain, and a margin.
    for _ in $(seq 1 200); do pid_alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

# replica FILE: select another replica: FILE's settings override the
# instance's, and it has its own pid and log files.
replica() {
  local file="${1:-}" line name
  [[ -n "$file" ]] || die "usage: $0 replica-up|replica-down FILE"
  [[ -f "$file" ]] || die "replica env file $file does not exist"
  name="$(basename "$file" .env)"
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || die "replica name '$name' must match [A-Za-z0-9_.-]+"
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)= ]] && unset "${BASH_REMATCH[2]}"
  done <"$file"
  load_env_file "$file" # now its values win
  PIDFILE="$RUN/hotline-$name.pid"
  LOGFILE="$RUN/hotline-$name.log"
}

# replicas_down stops every extra replica of the instance.
replicas_down() {
  local f
  for f in "$RUN"/hotline-*.pid; do
    [[ -e "$f" ]] || continue
    PIDFILE="$f"
    controller_down
  done
  PIDFILE="$RUN/hotline.pid"
}

case "${1:-}" in
up)
  mkdir -p "$RUN/bin"
  "$STACK" deps
  "$STACK" rootfs
  log "building the controller"
  (cd "$REPO" && go build -o "$BIN" ./cmd/hotline)
  moh="$("$STACK" moh-dir)"
  mkdir -p "$("$STACK" sounds-dir)" "$moh"
  "$BIN" prompts render -dir "$("$STACK" sounds-dir)" -moh "$moh/hotline-moh.wav" >&2
  "$STACK" redis-up
  "$STACK" asterisk-up
  "$BIN" accounts import "$REPO/deploy/dev/accounts.csv" >&2
  controller_up
  "$REPO/deploy/local/prometheus.sh" up
  ;;
down)
  "$REPO/deploy/local/prometheus.sh" down || true
  replicas_down
  controller_down
  "$STACK" asterisk-down
  "$STACK" redis-down
  ;;
restart-controller)
  controller_down
  controller_up
  ;;
controller-up)
  [[ -x "$BIN" ]] || die "no controller binary at $BIN"
  controller_up
  ;;
controller-down)
  controller_down
  ;;
replica-up)
  [[ -x "$BIN" ]] || die "no controller binary at $BIN: run '$0 up' first"
  replica "${2:-}"
  controller_up
  ;;
replica-down)
  replica "${2:-}"
  controller_down
  ;;
*)
  echo "usage: $0 up|down|restart-controller|controller-up|controller-down|replica-up FILE|replica-down FILE" >&2
  exit 2
  ;;
esac
