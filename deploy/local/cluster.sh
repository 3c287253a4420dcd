#!/usr/bin/env bash
# hotline — a local cluster on one machine, without Docker or namespaces:
# Kamailio (the SIP edge) on 127.0.0.1, Asterisk nodes on 127.0.0.2 and
# 127.0.0.3 (every 127/8 address is local on Linux), three Redis servers (a
# master, two replicas) watched by three sentinels, one controller per node
# and one Prometheus scraping every controller. Needs root, like `make up`.
#
# Usage: deploy/local/cluster.sh COMMAND [ARGS]
#   up                 everything (idempotent; returns when every controller is healthy)
#   down               everything (data kept in the run directory)
#   status             what runs; which Redis is the master; the nodes as Kamailio sees them
#   asterisk-up NODE   one node's Asterisk (NODE: a, b, ...), e.g. after a test killed it
#   asterisk-down NODE
#   redis-up           every stopped Redis server, as a replica of the current master
#   env NODE           print the merged environment of a node
#
# Environment:
#   HOTLINE_CLUSTER_ENV  directory with cluster.env and node-<NODE>.env [deploy/cluster];
#                        a node's file wins over cluster.env. `make test` uses deploy/test-cluster.
#   HOTLINE_CLUSTER_RUN  state directory [REPO/.run/cluster]: merged env files, logs,
#                        Redis and sentinel data, Kamailio's rendered configuration, and a
#                        directory per node (<run name>-<NODE>, also the Asterisk instance name)
# Other HOTLINE_* variables of the caller are not passed on (the files configure
# the cluster), except HOTLINE_ROOTFS, HOTLINE_DEBIAN_MIRROR and
# HOTLINE_ASTERISK_START_TIMEOUT.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
log() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

ENV_DIR="${HOTLINE_CLUSTER_ENV:-$REPO/deploy/cluster}"
[[ "$ENV_DIR" == /* ]] || ENV_DIR="$REPO/$ENV_DIR"
RUN="${HOTLINE_CLUSTER_RUN:-$REPO/.run/cluster}"
[[ "$RUN" == /* ]] || RUN="$REPO/$RUN"
NAME="$(basename "$RUN")"
[[ -f "$ENV_DIR/cluster.env" ]] || die "$ENV_DIR/cluster.env does not exist"
STACK="$REPO/deploy/local/stack.sh"
HOTLINE="$REPO/deploy/local/hotline.sh"
BIN="$RUN/bin/hotline"
cd "$REPO"

# shellcheck source=deploy/local/lib.sh
HOTLINE_ENV_FILE="$ENV_DIR/cluster.env" source "$SCRIPT_DIR/lib.sh" # pid_alive, load_env_file; cluster.env below
# The caller's HOTLINE_* variables must not override the files.
for v in $(compgen -e); do
  case "$v" in
    HOTLINE_ROOTFS|HOTLINE_DEBIAN_MIRROR|HOTLINE_ASTERISK_START_TIMEOUT|HOTLINE_CLUSTER_*|HOTLINE_STACK_LOCK*) ;;
    HOTLINE_*) unset "$v" ;;
  esac
done
load_env_file "$ENV_DIR/cluster.env"

NODES=()
for f in "$ENV_DIR"/node-*.env; do
  [[ -e "$f" ]] || continue
  n="$(basename "$f" .env)"
  n="${n#node-}"
  [[ "$n" =~ ^[a-z0-9]+$ ]] || die "$f: node names are [a-z0-9]+"
  NODES+=("$n")
done
[[ ${#NODES[@]} -ge 1 ]] || die "no node-*.env in $ENV_DIR"

MASTER_NAME="${HOTLINE_REDIS_MASTER:?HOTLINE_REDIS_MASTER missing in cluster.env}"
SENTINELS="${HOTLINE_REDIS_SENTINELS:?HOTLINE_REDIS_SENTINELS missing in cluster.env}"
FIRST_MASTER="${HOTLINE_REDIS_ADDR:?HOTLINE_REDIS_ADDR missing in cluster.env}"
REPLICAS="${HOTLINE_REDIS_REPLICAS:-}"
DOWN_AFTER="${HOTLINE_SENTINEL_DOWN_AFTER_MS:-5000}"
RPC="${HOTLINE_KAMAILIO_RPC:-http://127.0.0.1:5071/RPC}"
[[ "$DOWN_AFTER" =~ ^[0-9]+$ ]] && (( DOWN_AFTER >= 100 )) || die "HOTLINE_SENTINEL_DOWN_AFTER_MS='$DOWN_AFTER' must be a number of ms >= 100"
if [[ -n "${HOTLINE_REDIS_PASSWORD:-}" ]]; then export REDISCLI_AUTH="$HOTLINE_REDIS_PASSWORD"; fi

lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/.cluster.lock"
  flock 9
}

# merged NODE: the node's file, then cluster.env; one line per key, the
# node's value first, so every reader (bash: first wins; the controller's
# ReadEnvFile: last wins) sees the same values.
merged() {
  local node="$1" out="$RUN/node-$1.env"
  [[ -f "$ENV_DIR/node-$node.env" ]] || die "no node '$node' ($ENV_DIR/node-$node.env)"
  mkdir -p "$RUN"
  awk '/^[[:space:]]*(#|$)/ { next }
       { line = $0; sub(/^[[:space:]]*export[[:space:]]+/, "", line)
         key = line; sub(/=.*/, "", key)
         if (!(key in seen)) { seen[key] = 1; print line } }' \
    "$ENV_DIR/node-$node.env" "$ENV_DIR/cluster.env" >"$out.new"
  mv -f "$out.new" "$out"
  echo "$out"
}

node_run() { echo "$RUN/$NAME-$1"; }

# on NODE CMD...: run CMD with the node's environment only.
on() {
  local node="$1" file
  shift
  file="$(merged "$node")" || exit 1
  (
    exec 9>&- # the cluster lock stays with this script, not with daemons it starts
    for v in $(compgen -e); do
      case "$v" in HOTLINE_ROOTFS|HOTLINE_DEBIAN_MIRROR|HOTLINE_ASTERISK_START_TIMEOUT) ;; HOTLINE_*) unset "$v" ;; esac
    done
    export HOTLINE_ENV_FILE="$file" HOTLINE_RUN_DIR="$(node_run "$node")"
    "$@"
  )
}

# ---------------------------------------------------------------------- redis
redis_dir() { echo "$RUN/redis-${1##*:}"; }
ping_at() { [[ "$(redis-cli -h "${1%:*}" -p "${1##*:}" PING 2>/dev/null)" == PONG ]]; }
sentinel_ask() { # -> master HOST:PORT from a running sentinel, or nothing
  local s out
  for s in ${SENTINELS//,/ }; do
    out="$(env -u REDISCLI_AUTH redis-cli -h "${s%:*}" -p "${s##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | tr '\n' ':' )" || continue
    out="${out%:}"
    if [[ "$out" =~ ^[0-9.]+:[0-9]+$ ]]; then echo "$out"; return; fi
  done
}
current_master() {
  local m f
  m="$(sentinel_ask)"
  if [[ -z "$m" ]]; then
    # Sentinels down: the master they last knew (they rewrite their file).
    for f in "$RUN"/sentinel-*/sentinel.conf; do
      [[ -f "$f" ]] || continue
      m="$(awk -v n="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == n { print $4 ":" $5; exit }' "$f")"
      [[ -n "$m" ]] && break
    done
  fi
  echo "${m:-$FIRST_MASTER}"
}
redis_servers() { echo "$FIRST_MASTER ${REPLICAS//,/ }"; }

redis_up() {
  local master s
  master="$(current_master)"
  # The master first, then the others as its replicas.
  HOTLINE_RUN_DIR="$(redis_dir "$master")" HOTLINE_REDIS_ADDR="$master" HOTLINE_ENV_FILE="$ENV_DIR/cluster.env" "$STACK" redis-up
  for s in $(redis_servers); do
    [[ "$s" != "$master" ]] || continue
    if ping_at "$s"; then continue; fi
    HOTLINE_RUN_DIR="$(redis_dir "$s")" HOTLINE_REDIS_ADDR="$s" HOTLINE_REDIS_REPLICAOF="$master" \
      HOTLINE_ENV_FILE="$ENV_DIR/cluster.env" "$STACK" redis-up
  done
}

redis_down() {
  local s
  for s in $(redis_servers); do
    HOTLINE_RUN_DIR="$(redis_dir "$s")" HOTLINE_REDIS_ADDR="$s" HOTLINE_ENV_FILE="$ENV_DIR/cluster.env" "$STACK" redis-down
  done
}

sentinel_pid() { local p; p="$(cat "$1/sentinel.pid" 2>/dev/null || true)"; pid_alive "$p" redis- && echo "$p"; }

sentinels_up() {
  local s dir master i pw="${HOTLINE_REDIS_PASSWORD:-}"
  master="$(current_master)"
  for s in ${SENTINELS//,/ }; do
    dir="$RUN/sentinel-${s##*:}"
    mkdir -p "$dir"
    if sentinel_pid "$dir" >/dev/null; then continue; fi
    if [[ ! -f "$dir/sentinel.conf" ]]; then
      # Sentinel rewrites this file as it learns the group; it is kept.
      ( umask 077
        printf 'port %s\nbind %s\ndir %s\nsentinel monitor %s %s %s 2\nsentinel down-after-milliseconds %s %s\nsentinel failover-timeout %s 20000\nsentinel parallel-syncs %s 2\n' \
          "${s##*:}" "${s%:*}" "$dir" "$MASTER_NAME" "${master%:*}" "${master##*:}" "$MASTER_NAME" "$DOWN_AFTER" "$MASTER_NAME" "$MASTER_NAME"
        [[ -z "$pw" ]] || printf 'sentinel auth-pass %s "%s"\n' "$MASTER_NAME" "${pw//\"/\\\"}"
      ) >"$dir/sentinel.conf"
    fi
    redis-server "$dir/sentinel.conf" --sentinel --daemonize yes --pidfile "$dir/sentinel.pid" \
      --logfile "$dir/sentinel.log" 8>&- 9>&-
    for ((i = 0; i < 100; i++)); do
      [[ "$(env -u REDISCLI_AUTH redis-cli -h "${s%:*}" -p "${s##*:}" PING 2>/dev/null)" == PONG ]] && break
      sleep 0.1
    done
    (( i < 100 )) || { tail -20 "$dir/sentinel.log" >&2 || true; die "sentinel $s did not answer PING"; }
    log "sentinel on $s watching $MASTER_NAME (log $dir/sentinel.log)"
  done
}

sentinels_down() {
  local s dir pid i
  for s in ${SENTINELS//,/ }; do
    dir="$RUN/sentinel-${s##*:}"
    pid="$(sentinel_pid "$dir")" || continue
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/sentinel.pid"
  done
}

# ------------------------------------------------------------------- kamailio
KAM_DIR="$RUN/kamailio"
kam_pid() { local p; p="$(cat "$RUN/kamailio.pid" 2>/dev/null || true)"; pid_alive "$p" kamailio && echo "$p"; }
kam_ok() { curl -fsS -m 2 -o /dev/null -d '{"jsonrpc":"2.0","method":"core.version","id":1}' "$RPC" 2>/dev/null; }

kamailio_up() {
  command -v kamailio >/dev/null || die "kamailio missing; run: deploy/local/stack.sh deps"
  local pid t0=$SECONDS
  if pid="$(kam_pid)" && kam_ok; then log "kamailio: already running (pid $pid)"; return; fi
  "$REPO/deploy/kamailio/render.sh" "$KAM_DIR"
  kamailio -c -f "$KAM_DIR/kamailio.cfg" >"$KAM_DIR/check.log" 2>&1 \
    || { cat "$KAM_DIR/check.log" >&2; die "kamailio -c refuses $KAM_DIR/kamailio.cfg"; }
  [[ -f "$RUN/kamailio.log" ]] && mv -f "$RUN/kamailio.log" "$RUN/kamailio.log.1"
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd="${fd##*/}"
      if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid kamailio -f "$KAM_DIR/kamailio.cfg" -DD -E -Y "$KAM_DIR" -P "$RUN/kamailio.pid"
  ) </dev/null >"$RUN/kamailio.log" 2>&1 &
  pid=$!
  until kam_ok; do
    pid_alive "$pid" || { tail -20 "$RUN/kamailio.log" >&2; die "kamailio exited (log $RUN/kamailio.log)"; }
    (( SECONDS - t0 < 30 )) || die "kamailio's JSON-RPC $RPC did not answer within 30 s"
    sleep 0.2
  done
  echo "$pid" >"$RUN/kamailio.pid"
  log "kamailio: SIP ${HOTLINE_SIP_EDGE:-127.0.0.1:5060}, RPC $RPC, nodes ${HOTLINE_SIP_NODES:-} (pid $pid, log $RUN/kamailio.log)"
}

kamailio_down() {
  local pid i
  pid="$(kam_pid)" || { rm -f "$RUN/kamailio.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN/kamailio.pid"
  log "kamailio: stopped"
}

# ----------------------------------------------------------------- everything
cluster_up() {
  "$STACK" deps
  "$STACK" rootfs
  log "building the controller"
  mkdir -p "$RUN/bin"
  go build -o "$BIN" ./cmd/hotline
  local n moh
  moh="$(on "${NODES[0]}" "$STACK" moh-dir)"
  mkdir -p "$(on "${NODES[0]}" "$STACK" sounds-dir)" "$moh"
  "$BIN" prompts render -dir "$(on "${NODES[0]}" "$STACK" sounds-dir)" -moh "$moh/hotline-moh.wav" >&2
  redis_up
  sentinels_up
  kamailio_up
  for n in "${NODES[@]}"; do on "$n" "$STACK" asterisk-up; done
  on "${NODES[0]}" "$BIN" accounts import "$REPO/deploy/dev/accounts.csv" >&2
  for n in "${NODES[@]}"; do
    mkdir -p "$(node_run "$n")/bin"
    ln -sfn "$BIN" "$(node_run "$n")/bin/hotline"
    on "$n" "$HOTLINE" controller-up
  done
  HOTLINE_ENV_FILE="$ENV_DIR/cluster.env" HOTLINE_RUN_DIR="$RUN" "$REPO/deploy/local/prometheus.sh" up
  log "up: carriers call sip:95598@${HOTLINE_SIP_EDGE:-127.0.0.1:5060}; softphones register there"
}

cluster_down() {
  local n
  HOTLINE_ENV_FILE="$ENV_DIR/cluster.env" HOTLINE_RUN_DIR="$RUN" "$REPO/deploy/local/prometheus.sh" down || true
  for n in "${NODES[@]}"; do on "$n" "$HOTLINE" controller-down || true; done
  for n in "${NODES[@]}"; do on "$n" "$STACK" asterisk-down || true; done
  kamailio_down
  sentinels_down
  redis_down
}

cluster_status() {
  local n rc=0 s out
  for n in "${NODES[@]}"; do
    echo "--- node $n ($(node_run "$n"))"
    out="$(on "$n" "$STACK" status || true)"
    grep -v '^redis:' <<<"$out"
    [[ "$out" == *"ARI "*": ok, SIP udp/"*": ok"* ]] || rc=3
    if on "$n" bash -c 'curl -fsS -m 2 -o /dev/null "http://$(sed -n "s/^HOTLINE_HTTP_ADDR=//p" "$HOTLINE_ENV_FILE")/healthz"'; then
      echo "controller: healthy"
    else
      echo "controller: not healthy"; rc=3
    fi
  done
  echo "--- redis"
  for s in $(redis_servers); do
    if ping_at "$s"; then
      echo "$s: $(redis-cli -h "${s%:*}" -p "${s##*:}" ROLE 2>/dev/null | head -1)"
    else
      echo "$s: down"; rc=3
    fi
  done
  echo "sentinels say the master is: $(sentinel_ask || true)"
  echo "--- kamailio"
  if kam_ok; then
    curl -fsS -m 2 -d '{"jsonrpc":"2.0","method":"dispatcher.list","id":1}' "$RPC" \
      | grep -o '"URI":"[^"]*","FLAGS":"[^"]*"' || true
  else
    echo "kamailio: not answering on $RPC"; rc=3
  fi
  return $rc
}

CMD="${1:-}"
[[ $# -gt 0 ]] && shift
case "$CMD" in
  up) [[ $EUID -eq 0 ]] || die "up needs root (Asterisk runs in a chroot)"; lock; cluster_up ;;
  down) lock; cluster_down ;;
  status) cluster_status ;;
  asterisk-up) [[ $# -eq 1 ]] || die "usage: $0 asterisk-up NODE"; on "$1" "$STACK" asterisk-up ;;
  asterisk-down) [[ $# -eq 1 ]] || die "usage: $0 asterisk-down NODE"; on "$1" "$STACK" asterisk-down ;;
  redis-up) lock; redis_up ;;
  env) [[ $# -eq 1 ]] || die "usage: $0 env NODE"; cat "$(merged "$1")" ;;
  ""|-h|--help|help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" ;;
  *) die "unknown command '$CMD' (try: $0 help)" ;;
esac
