#!/usr/bin/env bash
# hotline — a real Prometheus for one local stack instance (no Docker).
#
# Scrapes the controller (HOTLINE_HTTP_ADDR/metrics) with the rules of
# deploy/prometheus/rules, config rendered from deploy/prometheus/prometheus.yml.tmpl.
#
# Usage: deploy/local/prometheus.sh COMMAND
#   up      render the config, start Prometheus, wait until /-/ready (idempotent;
#           a running one whose rendered config changed is reloaded with SIGHUP)
#   down    stop it: SIGTERM, wait, then SIGKILL (idempotent; data is kept)
#   status  exit 0 when it runs and is ready, 3 otherwise
#   env     print the effective configuration
#
# Environment (same conventions as deploy/local/stack.sh):
#   HOTLINE_ENV_FILE  env file to read [deploy/dev/hotline.env]; variables
#                     already set in the environment win over the file
#   HOTLINE_RUN_DIR   instance state dir [REPO/.run/dev]; Prometheus keeps
#                     prometheus.yml, prometheus.pid, prometheus.log and its
#                     TSDB (prometheus/) there
#   HOTLINE_PROMETHEUS_ADDR      listen address [127.0.0.1:9090] (the test env uses 127.0.0.1:9098)
#   HOTLINE_HTTP_ADDR            scrape target, the controller [127.0.0.1:8080]
#   HOTLINE_PROMETHEUS_TARGETS   several controllers (a cluster): HOST:PORT,... [HOTLINE_HTTP_ADDR]
#   HOTLINE_PROMETHEUS_INTERVAL  scrape + rule evaluation interval [5s]
#   HOTLINE_PROMETHEUS_RETENTION TSDB retention [2d]
#   HOTLINE_PROMETHEUS_START_TIMEOUT  seconds to wait for /-/ready [60]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"

log() { echo "prometheus: $*" >&2; }
die() { echo "prometheus: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- environment
# shellcheck source=deploy/local/lib.sh
source "$REPO/deploy/local/lib.sh"

RUN_DIR="${HOTLINE_RUN_DIR:-$REPO/.run/dev}"
[[ "$RUN_DIR" == /* ]] || RUN_DIR="$PWD/$RUN_DIR"
INST="$(basename "$RUN_DIR")"
ADDR="${HOTLINE_PROMETHEUS_ADDR:-127.0.0.1:9090}"
TARGET="${HOTLINE_PROMETHEUS_TARGETS:-${HOTLINE_HTTP_ADDR:-127.0.0.1:8080}}"
INTERVAL="${HOTLINE_PROMETHEUS_INTERVAL:-5s}"
RETENTION="${HOTLINE_PROMETHEUS_RETENTION:-2d}"
START_TIMEOUT="${HOTLINE_PROMETHEUS_START_TIMEOUT:-60}"
[[ "$ADDR" =~ ^[^:]*:[0-9]+$ ]] || die "HOTLINE_PROMETHEUS_ADDR='$ADDR' must be HOST:PORT"
# A wildcard listen address is reached through loopback.
URL_HOST="${ADDR%:*}"
[[ -z "$URL_HOST" || "$URL_HOST" == 0.0.0.0 ]] && URL_HOST=127.0.0.1
URL="http://$URL_HOST:${ADDR##*:}"

PID_FILE="$RUN_DIR/prometheus.pid"
LOG_FILE="$RUN_DIR/prometheus.log"
CONFIG="$RUN_DIR/prometheus.yml"
DATA_DIR="$RUN_DIR/prometheus"

lock_instance() {
  # Own lock file (not stack.sh's .stack.lock), so this may run while
  # stack.sh holds its lock. fd 9 is closed for Prometheus so it never
  # inherits the lock.
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.prometheus.lock"
  flock 9
}


prom_pid() {
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  pid_alive "$pid" prometheus && echo "$pid"
}

ready() { curl -fsS -m 2 -o /dev/null "$URL/-/ready" 2>/dev/null; }

ensure_prometheus() {
  command -v prometheus >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "prometheus missing; run: apt-get install -y prometheus"
  log "prometheus missing: installing the Debian package"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=300)
  if ! "${apt[@]}" install -y --no-install-recommends prometheus; then
    log "install failed; running apt-get update and retrying"
    "${apt[@]}" update
    "${apt[@]}" install -y --no-install-recommends prometheus
  fi
  command -v prometheus >/dev/null || die "prometheus still missing after apt-get install"
}

render_config() { # -> $CONFIG; returns 0 when it changed
  local new="$CONFIG.new"
  "$REPO/deploy/prometheus/render.sh" "$TARGET" "$INTERVAL" >"$new" || die "cannot render the config"
  if [[ -f "$CONFIG" ]] && cmp -s "$new" "$CONFIG"; then
    rm -f "$new"
    return 1
  fi
  mv -f "$new" "$CONFIG"
}

wait_ready() { # pid
  local pid="$1" t0=$SECONDS
  while ! ready; do
    if ! pid_alive "$pid"; then
      tail -n 30 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      die "prometheus[$INST] exited during start-up (see $LOG_FILE)"
    fi
    if (( SECONDS - t0 >= START_TIMEOUT )); then
      tail -n 30 "$LOG_FILE" >&2 || true
      die "prometheus[$INST] not ready on $URL after ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# ------------------------------------------------------------------- commands
cmd_up() {
  ensure_prometheus
  lock_instance
  local pid t0r=$EPOCHREALTIME
  if pid="$(prom_pid)"; then
    if render_config; then
      log "prometheus[$INST]: config changed, reloading pid $pid (SIGHUP)"
      kill -HUP "$pid"
    fi
    wait_ready "$pid"
    log "prometheus[$INST]: already running (pid $pid) on $URL, scraping $TARGET every $INTERVAL"
    return 0
  fi
  rm -f "$PID_FILE"
  local code
  code="$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$URL/-/ready" 2>/dev/null || true)"
  [[ -z "$code" || "$code" == 000 ]] \
    || die "something else already answers on $URL (HTTP $code; a system prometheus service?); stop it or set HOTLINE_PROMETHEUS_ADDR"
  render_config || true
  promtool check config "$CONFIG" >/dev/null 2>&1 || { promtool check config "$CONFIG" >&2 || true; die "invalid config $CONFIG"; }
  mkdir -p "$DATA_DIR"
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  # Debian's build defaults --web.console.{templates,libraries} to
  # /etc/prometheus/{consoles,console_libraries}, which the package ships;
  # they are left at their defaults (consoles are not used here).
  (
    # Close every inherited fd above 2 (the lock on fd 9, and any pipe of a
    # caller such as `make ... | tee` that would otherwise never see EOF).
    for fd in /proc/$BASHPID/fd/*; do
      fd="${fd##*/}"
      if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid nohup prometheus \
      --config.file="$CONFIG" \
      --storage.tsdb.path="$DATA_DIR" \
      --storage.tsdb.retention.time="$RETENTION" \
      --web.listen-address="$ADDR"
  ) </dev/null >"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"
  log "prometheus[$INST]: started pid $pid on $URL, scraping $TARGET every $INTERVAL (log $LOG_FILE, data $DATA_DIR)"
  wait_ready "$pid"
  log "prometheus[$INST]: ready in $(awk -v a="$t0r" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
}

cmd_down() {
  lock_instance
  local pid i
  if ! pid="$(prom_pid)"; then
    log "prometheus[$INST]: not running"
    rm -f "$PID_FILE"
    return 0
  fi
  log "prometheus[$INST]: stopping pid $pid"
  # SIGTERM lets Prometheus close the TSDB cleanly (it may take a few seconds).
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  if pid_alive "$pid"; then
    log "prometheus[$INST]: still alive after 15s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  pid_alive "$pid" && die "prometheus[$INST] pid $pid does not exit"
  rm -f "$PID_FILE"
  log "prometheus[$INST]: stopped"
}

cmd_status() {
  local pid
  if pid="$(prom_pid)"; then
    if ready; then
      echo "prometheus: running pid $pid [$INST] on $URL, scraping $TARGET"
      return 0
    fi
    echo "prometheus: pid $pid [$INST], not ready on $URL"
    return 3
  fi
  echo "prometheus: stopped [$INST]"
  return 3
}

cmd_env() {
  cat <<EOF
HOTLINE_RUN_DIR=$RUN_DIR
INSTANCE=$INST
HOTLINE_PROMETHEUS_ADDR=$ADDR
PROMETHEUS_URL=$URL
HOTLINE_HTTP_ADDR=$TARGET
HOTLINE_PROMETHEUS_INTERVAL=$INTERVAL
HOTLINE_PROMETHEUS_RETENTION=$RETENTION
PROMETHEUS_CONFIG=$CONFIG
PROMETHEUS_DATA=$DATA_DIR
PROMETHEUS_LOG=$LOG_FILE
EOF
}

# ---------------------------------------------------------------------- main
CMD="${1:-}"
[[ $# -gt 0 ]] && shift
case "$CMD" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  ""|-h|--help|help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" ;;
  *) die "unknown command '$CMD' (try: $0 help)" ;;
esac
