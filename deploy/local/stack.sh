#!/usr/bin/env bash
# hotline — local development / test stack without Docker.
#
# Asterisk 22 runs from a Debian sid root filesystem (debootstrap) via chroot;
# Redis runs on the host. Several instances (e.g. .run/dev and .run/test) can
# run side by side from the same root filesystem, each with its own ports.
#
# Usage: deploy/local/stack.sh COMMAND [ARGS]
#   deps          install missing host packages (apt-get; idempotent)
#   rootfs        build the Debian sid + Asterisk root once (reused afterwards)
#   asterisk-up   render config, start Asterisk, wait until ARI + SIP are ready
#   asterisk-down stop Asterisk (idempotent)
#   redis-up      start redis-server (AOF on) and wait for PING (idempotent)
#   redis-down    stop redis-server, keeping the AOF (idempotent)
#   up / down     redis + asterisk together
#   status        show what runs (exit 0 when Asterisk and Redis are both up, 3 otherwise)
#   rx 'CMD'      run an Asterisk CLI command in this instance (e.g. rx 'pjsip show aors')
#   sounds-dir    print the host path of Asterisk's sounds/hotline directory
#   moh-dir       print the host path of the music-on-hold directory
#   env           print the effective configuration
#
# Environment:
#   HOTLINE_ENV_FILE  env file to read [deploy/dev/hotline.env]; variables
#                     already set in the environment win over the file
#   HOTLINE_RUN_DIR   instance state dir [REPO/.run/dev]; its basename is the
#                     instance name inside the root (/var/lib/hotline/<name>)
#   HOTLINE_ROOTFS    root filesystem [/var/cache/hotline/rootfs-sid]
#   HOTLINE_DEBIAN_MIRROR  mirror for debootstrap [first http(s) URL of the host's apt sources]
#   HOTLINE_ASTERISK_START_TIMEOUT  seconds to wait for Asterisk [60]
#   plus everything deploy/asterisk/render.sh reads (HOTLINE_SIP_PORT, HOTLINE_ARI_*, ...)
#   and HOTLINE_REDIS_ADDR [127.0.0.1:6379], HOTLINE_REDIS_PASSWORD [none]: Redis's
#   requirepass. (HOTLINE_REDIS_TLS is for a Redis run elsewhere; this one is plain.)
#   HOTLINE_REDIS_REPLICAOF [none]: HOST:PORT of a master this Redis replicates
#   (deploy/local/cluster.sh starts its replicas so; the password is also masterauth).
#   A node of a cluster binds Asterisk to its own address: HOTLINE_SIP_BIND and
#   HOTLINE_ARI_BIND (with HOTLINE_ARI_URL on that address), e.g. 127.0.0.2.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"

log() { echo "stack: $*" >&2; }
die() { echo "stack: error: $*" >&2; exit 1; }
need_root() { [[ $EUID -eq 0 ]] || die "'$CMD' needs root (chroot, mount, apt-get)"; }

# ---------------------------------------------------------------- environment
# shellcheck source=deploy/local/lib.sh
source "$SCRIPT_DIR/lib.sh"

RUN_DIR="${HOTLINE_RUN_DIR:-$REPO/.run/dev}"
[[ "$RUN_DIR" == /* ]] || RUN_DIR="$PWD/$RUN_DIR"
INST="$(basename "$RUN_DIR")"
[[ "$INST" =~ ^[A-Za-z0-9_.-]+$ ]] || die "instance name '$INST' (basename of HOTLINE_RUN_DIR) must match [A-Za-z0-9_.-]+"
ROOT="${HOTLINE_ROOTFS:-/var/cache/hotline/rootfs-sid}"
ROOT="${ROOT%/}"
INST_DIR="/var/lib/hotline/$INST"          # as seen inside the root
HOST_INST_DIR="$ROOT$INST_DIR"             # as seen on the host
AST_CONF="$INST_DIR/etc/asterisk.conf"
ARI_URL="${HOTLINE_ARI_URL:-http://127.0.0.1:8088/ari}"
ARI_URL="${ARI_URL%/}"
ARI_USER="${HOTLINE_ARI_USER:-hotline}"
ARI_PASSWORD="${HOTLINE_ARI_PASSWORD:-}"
SIP_PORT="${HOTLINE_SIP_PORT:-5060}"
REDIS_ADDR="${HOTLINE_REDIS_ADDR:-127.0.0.1:6379}"
REDIS_HOST="${REDIS_ADDR%:*}"
REDIS_PORT="${REDIS_ADDR##*:}"
[[ "$REDIS_PORT" =~ ^[0-9]+$ && -n "$REDIS_HOST" && "$REDIS_HOST" != "$REDIS_ADDR" ]] \
  || die "HOTLINE_REDIS_ADDR='$REDIS_ADDR' must be HOST:PORT"
START_TIMEOUT="${HOTLINE_ASTERISK_START_TIMEOUT:-60}"

lock_instance() {
  # fd 9 is closed for the daemons we start so they never inherit the lock.
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.stack.lock"
  flock 9
}


# ---------------------------------------------------------------------- deps
HOST_PACKAGES=(debootstrap redis-server redis-tools redis-sentinel kamailio sip-tester espeak-ng sox ca-certificates curl util-linux)

cmd_deps() {
  local missing=() p
  for p in "${HOST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "deps: all host packages present"
    return 0
  fi
  need_root
  log "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    log "deps: install failed; running apt-get update and retrying"
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  # The packages' own services (a system-wide Kamailio on every address's
  # port 5060, a sentinel on 26379) would take the ports our stacks use:
  # ours run from deploy/ with their own configuration.
  for p in kamailio redis-sentinel; do
    if [[ " ${missing[*]} " == *" $p "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$p" >/dev/null 2>&1 || true
    fi
  done
}

# -------------------------------------------------------------------- rootfs
debian_mirror() {
  if [[ -n "${HOTLINE_DEBIAN_MIRROR:-}" ]]; then echo "$HOTLINE_DEBIAN_MIRROR"; return; fi
  local url
  url="$( {
      cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^[[:space:]]*URIs:[[:space:]]*//p' | tr ' \t' '\n\n'
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\).*/\2/p'
    } | grep -E '^https?://' | grep -vE '[-/]security' | head -n1 || true)"
  [[ -n "$url" ]] || die "no http(s) Debian mirror found in /etc/apt sources; set HOTLINE_DEBIAN_MIRROR"
  echo "$url"
}

rootfs_ok() { [[ -x "$ROOT/usr/sbin/asterisk" && -f "$ROOT/etc/hotline-rootfs" ]]; }

mounted_under() { # dir -> succeeds when something is mounted at or below dir
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

cmd_rootfs() {
  if rootfs_ok; then
    log "rootfs: reusing $ROOT ($(cat "$ROOT/etc/hotline-rootfs"))"
    return 0
  fi
  need_root
  command -v debootstrap >/dev/null || die "debootstrap missing; run: $0 deps"
  mkdir -p "$(dirname "$ROOT")"
  exec 8>"$ROOT.lock"
  flock 8
  if rootfs_ok; then log "rootfs: built by someone else meanwhile: $ROOT"; return 0; fi
  [[ ! -e "$ROOT" ]] || die "$ROOT exists but is not a complete hotline root (no asterisk or no etc/hotline-rootfs); remove it and retry"
  local tmp="$ROOT.tmp" mirror
  if [[ -e "$tmp" ]]; then
    mounted_under "$tmp" && die "$tmp has mounts below it; unmount them first"
    log "rootfs: removing stale $tmp"
    rm -rf --one-file-system "$tmp"
  fi
  mirror="$(debian_mirror)"
  log "rootfs: debootstrap sid from $mirror into $tmp (about a minute)"
  local t0=$SECONDS
  debootstrap --variant=minbase --include=asterisk,asterisk-modules sid "$tmp" "$mirror"
  chroot "$tmp" /usr/sbin/asterisk -V >/dev/null || die "asterisk does not run inside $tmp"
  chroot "$tmp" apt-get clean || true
  echo "debootstrap sid $(date -u +%FT%TZ) $(chroot "$tmp" /usr/sbin/asterisk -V)" >"$tmp/etc/hotline-rootfs"
  mv "$tmp" "$ROOT"
  log "rootfs: built $ROOT in $((SECONDS - t0))s"
  chroot "$ROOT" /usr/sbin/asterisk -V
}

prepare_root() {
  # /proc and /dev are shared by all instances of this root; mount once.
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
  # Name resolution must never block: local hosts only, no DNS servers.
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$(hostname)" >"$ROOT/etc/hosts"
  rm -f "$ROOT/etc/resolv.conf"
  : >"$ROOT/etc/resolv.conf"
  mkdir -p "$ROOT/usr/share/asterisk/sounds/hotline" "$ROOT/usr/share/asterisk/moh-hotline"
}

release_root() {
  # Unmount only when no process (another instance, a shell) lives in the root.
  local p r
  for p in /proc/[0-9]*; do
    r="$(readlink "$p/root" 2>/dev/null)" || continue
    [[ "$r" == "$ROOT" ]] && { log "keeping $ROOT mounts: still in use by pid ${p#/proc/}"; return 0; }
  done
  mountpoint -q "$ROOT/proc" && umount "$ROOT/proc" || true
  mountpoint -q "$ROOT/dev" && umount "$ROOT/dev" || true
}

# ------------------------------------------------------------------ asterisk
ast_pid() {
  local pid
  pid="$(cat "$RUN_DIR/asterisk.pid" 2>/dev/null || true)"
  pid_alive "$pid" asterisk && echo "$pid"
}

rx() { chroot "$ROOT" /usr/sbin/asterisk -C "$AST_CONF" -rx "$1"; }

ari_ok() { curl -fsS -m 3 -o /dev/null -u "$ARI_USER:$ARI_PASSWORD" "$ARI_URL/asterisk/info" 2>/dev/null; }
sip_ok() { rx 'pjsip show transports' 2>/dev/null | grep -q 'transport-udp'; }
ast_healthy() { ari_ok && sip_ok; }

cmd_asterisk_up() {
  need_root
  cmd_rootfs
  lock_instance
  local pid t0=$SECONDS t0r=$EPOCHREALTIME
  if pid="$(ast_pid)"; then
    if ast_healthy; then log "asterisk[$INST]: already running (pid $pid)"; return 0; fi
    log "asterisk[$INST]: pid $pid exists but is not ready yet; waiting"
  else
    local code
    HOTLINE_INSTANCE_DIR="$INST_DIR" "$REPO/deploy/asterisk/render.sh" "$HOST_INST_DIR/etc"
    code="$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$ARI_URL/asterisk/info" 2>/dev/null || true)"
    [[ -z "$code" || "$code" == 000 ]] || die "something else already answers on $ARI_URL (HTTP $code); stop it or change HOTLINE_ARI_URL"
    # spool/recording: Asterisk records calls there but does not make it (README: Call recording).
    mkdir -p "$HOST_INST_DIR"/{lib/keys,cache,spool/recording,run,log}
    rm -f "$HOST_INST_DIR/run/asterisk.ctl" "$HOST_INST_DIR/run/asterisk.pid"
    prepare_root
    if [[ -z "$(ls -A "$ROOT/usr/share/asterisk/moh-hotline")" ]]; then
      log "note: $ROOT/usr/share/asterisk/moh-hotline is empty: music on hold stays off until the controller renders it and 'moh reload' runs"
    fi
    ln -sfn "$HOST_INST_DIR" "$RUN_DIR/asterisk"
    [[ -f "$RUN_DIR/asterisk.log" ]] && mv -f "$RUN_DIR/asterisk.log" "$RUN_DIR/asterisk.log.1"
    setsid nohup chroot "$ROOT" /usr/sbin/asterisk -f -n -C "$AST_CONF" \
      </dev/null >"$RUN_DIR/asterisk.log" 2>&1 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$RUN_DIR/asterisk.pid"
    log "asterisk[$INST]: started pid $pid (SIP udp/$SIP_PORT, ARI $ARI_URL, log $RUN_DIR/asterisk.log)"
  fi
  while ! ast_healthy; do
    if ! pid_alive "$pid"; then
      tail -n 30 "$RUN_DIR/asterisk.log" >&2 || true
      rm -f "$RUN_DIR/asterisk.pid"
      die "asterisk[$INST] exited during start-up (see $RUN_DIR/asterisk.log)"
    fi
    if (( SECONDS - t0 >= START_TIMEOUT )); then
      tail -n 30 "$RUN_DIR/asterisk.log" >&2 || true
      die "asterisk[$INST] not ready after ${START_TIMEOUT}s (ARI $ARI_URL / SIP transport)"
    fi
    sleep 0.2
  done
  log "asterisk[$INST]: ready in $(awk -v a="$t0r" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
}

cmd_asterisk_down() {
  need_root
  lock_instance
  local pid i
  if pid="$(ast_pid)"; then
    log "asterisk[$INST]: stopping pid $pid"
    timeout 10 chroot "$ROOT" /usr/sbin/asterisk -C "$AST_CONF" -rx 'core stop now' >/dev/null 2>&1 || true
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    if pid_alive "$pid"; then
      log "asterisk[$INST]: still alive, sending SIGTERM"
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    fi
    if pid_alive "$pid"; then
      log "asterisk[$INST]: still alive, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    fi
    pid_alive "$pid" && die "asterisk[$INST] pid $pid does not exit"
    log "asterisk[$INST]: stopped"
  else
    log "asterisk[$INST]: not running"
  fi
  rm -f "$RUN_DIR/asterisk.pid" "$HOST_INST_DIR/run/asterisk.ctl"
  [[ -d "$ROOT/proc" ]] && release_root
  return 0
}

# --------------------------------------------------------------------- redis
redis_pid() {
  local pid
  pid="$(cat "$RUN_DIR/redis.pid" 2>/dev/null || true)"
  pid_alive "$pid" redis-server && echo "$pid"
}
# HOTLINE_REDIS_PASSWORD, when set, becomes the server's requirepass; redis-cli
# reads it from REDISCLI_AUTH, so it never shows in a process list.
if [[ -n "${HOTLINE_REDIS_PASSWORD:-}" ]]; then export REDISCLI_AUTH="$HOTLINE_REDIS_PASSWORD"; fi
redis_ping() { [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" PING 2>/dev/null)" == PONG ]]; }

cmd_redis_up() {
  command -v redis-server >/dev/null || die "redis-server missing; run: $0 deps"
  lock_instance
  local pid i
  if pid="$(redis_pid)"; then
    for ((i = 0; i < 100; i++)); do redis_ping && break; sleep 0.1; done
    redis_ping || die "redis[$INST] pid $pid does not answer PING on $REDIS_ADDR"
    log "redis[$INST]: already running (pid $pid)"
    return 0
  fi
  redis_ping && die "another Redis already answers on $REDIS_ADDR; stop it or change HOTLINE_REDIS_ADDR"
  mkdir -p "$RUN_DIR/redis"
  # The password goes in through stdin (a config file read from "-"), not
  # the command line, which any local user could read in ps.
  local auth="" pw="${HOTLINE_REDIS_PASSWORD:-}" of="${HOTLINE_REDIS_REPLICAOF:-}"
  [[ "$pw" != *$'\n'* ]] || die "HOTLINE_REDIS_PASSWORD must be one line"
  pw="${pw//\\/\\\\}"
  [[ -z "$pw" ]] || auth="requirepass \"${pw//\"/\\\"}\""$'\n'"masterauth \"${pw//\"/\\\"}\""
  if [[ -n "$of" ]]; then
    [[ "$of" =~ ^[0-9.]+:[0-9]+$ ]] || die "HOTLINE_REDIS_REPLICAOF='$of' must be IP:PORT"
    auth+=$'\n'"replicaof ${of%:*} ${of##*:}"
  fi
  printf '%s\n' "$auth" | redis-server - --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --appendonly yes --appendfsync everysec \
    --dir "$RUN_DIR/redis" \
    --daemonize yes --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log" 8>&- 9>&-
  for ((i = 0; i < 100; i++)); do redis_ping && break; sleep 0.1; done
  redis_ping || { tail -n 20 "$RUN_DIR/redis.log" >&2 || true; die "redis[$INST] did not answer PING on $REDIS_ADDR"; }
  log "redis[$INST]: running on $REDIS_ADDR (pid $(cat "$RUN_DIR/redis.pid"), data $RUN_DIR/redis)"
}

cmd_redis_down() {
  lock_instance
  local pid i
  if ! pid="$(redis_pid)"; then
    log "redis[$INST]: not running"
    rm -f "$RUN_DIR/redis.pid"
    return 0
  fi
  # SHUTDOWN fsyncs the AOF; the data stays in $RUN_DIR/redis.
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" SHUTDOWN >/dev/null 2>&1 || true
  for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  pid_alive "$pid" && die "redis[$INST] pid $pid does not exit"
  rm -f "$RUN_DIR/redis.pid"
  log "redis[$INST]: stopped"
}

# -------------------------------------------------------------------- status
cmd_status() {
  local rc=0 pid
  if rootfs_ok; then echo "rootfs:   $ROOT ($(cat "$ROOT/etc/hotline-rootfs"))"; else echo "rootfs:   missing ($ROOT)"; fi
  if pid="$(ast_pid)"; then
    local a=down s=down
    ari_ok && a=ok
    [[ $EUID -eq 0 ]] && sip_ok && s=ok
    echo "asterisk: running pid $pid [$INST] ARI $ARI_URL: $a, SIP udp/$SIP_PORT: $s"
    [[ $a == ok && $s == ok ]] || rc=3
  else
    echo "asterisk: stopped [$INST]"; rc=3
  fi
  if pid="$(redis_pid)"; then
    if redis_ping; then echo "redis:    running pid $pid on $REDIS_ADDR"; else echo "redis:    pid $pid, no PING answer on $REDIS_ADDR"; rc=3; fi
  else
    echo "redis:    stopped [$INST]"; rc=3
  fi
  return $rc
}

cmd_env() {
  cat <<EOF
REPO=$REPO
HOTLINE_RUN_DIR=$RUN_DIR
INSTANCE=$INST
HOTLINE_ROOTFS=$ROOT
ASTERISK_INSTANCE_DIR=$HOST_INST_DIR
HOTLINE_ARI_URL=$ARI_URL
HOTLINE_ARI_USER=$ARI_USER
HOTLINE_SIP_PORT=$SIP_PORT
HOTLINE_REDIS_ADDR=$REDIS_ADDR
SOUNDS_DIR=$ROOT/usr/share/asterisk/sounds/hotline
MOH_DIR=$ROOT/usr/share/asterisk/moh-hotline
EOF
}

# ---------------------------------------------------------------------- main
CMD="${1:-}"
[[ $# -gt 0 ]] && shift
case "$CMD" in
  deps) cmd_deps ;;
  rootfs) cmd_rootfs ;;
  asterisk-up) cmd_asterisk_up ;;
  asterisk-down) cmd_asterisk_down ;;
  redis-up) cmd_redis_up ;;
  redis-down) cmd_redis_down ;;
  up) cmd_redis_up; cmd_asterisk_up ;;
  down) cmd_asterisk_down; cmd_redis_down ;;
  status) cmd_status ;;
  rx)
    [[ $# -ge 1 ]] || die "usage: $0 rx 'asterisk CLI command'"
    need_root; ast_pid >/dev/null || die "asterisk[$INST] is not running"
    rx "$*" ;;
  sounds-dir)
    [[ -d "$ROOT/usr/share/asterisk" ]] && mkdir -p "$ROOT/usr/share/asterisk/sounds/hotline"
    echo "$ROOT/usr/share/asterisk/sounds/hotline" ;;
  moh-dir)
    [[ -d "$ROOT/usr/share/asterisk" ]] && mkdir -p "$ROOT/usr/share/asterisk/moh-hotline"
    echo "$ROOT/usr/share/asterisk/moh-hotline" ;;
  env) cmd_env ;;
  ""|-h|--help|help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" ;;
  *) die "unknown command '$CMD' (try: $0 help)" ;;
esac
