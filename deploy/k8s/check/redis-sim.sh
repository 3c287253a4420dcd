#!/bin/bash
# redis-sim.sh — runs the Redis and Sentinel init scripts of the manifests
# (deploy/k8s/base/redis/*.sh) with real redis-server and Sentinel on this
# machine, as three Redis pods and three sentinel pods would: cold start,
# SIGKILL of the master and failover, the old master's restart, a sentinel's
# restart from its kept file, writes refused without replicas, and a restart
# of all six at once. Not part of make test (it needs root and ~1 minute):
#
#   sudo unshare --mount --net deploy/k8s/check/redis-sim.sh
#
# The scripts run verbatim except for their paths (/scripts, /conf, /data
# point into a temporary directory) and each pod's bind address: a private
# network namespace and an /etc/hosts mounted over the machine's give every
# pod name (redis-0.redis, ...) its own loopback address.
set -euo pipefail
[[ $EUID -eq 0 ]] || { echo "redis-sim.sh: run as root, inside: unshare --mount --net" >&2; exit 1; }
[[ "$(ip -o link | wc -l)" -eq 1 ]] || { echo "redis-sim.sh: run inside unshare --mount --net (a private network namespace)" >&2; exit 1; }
ip link set lo up
W=$(mktemp -d)
trap 'for f in "$W"/*/pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$W"' EXIT
{
  echo "127.0.0.1 localhost"
  for i in 0 1 2; do echo "127.0.1.$((i+1)) redis-$i.redis"; echo "127.0.2.$((i+1)) redis-sentinel-$i.redis-sentinel"; done
} >"$W/hosts"
mount --bind "$W/hosts" /etc/hosts
S="$(cd "$(dirname "${BASH_SOURCE[0]}")/../base/redis" && pwd)"
export HOTLINE_REDIS_SENTINELS=redis-sentinel-0.redis-sentinel:26379,redis-sentinel-1.redis-sentinel:26379,redis-sentinel-2.redis-sentinel:26379
export HOTLINE_REDIS_MASTER=hotline
export REDIS_PASSWORD=$(openssl rand -hex 16)
export REDIS_MAXMEMORY=100mb
t0=$(date +%s.%N)
log() { awk -v t0="$t0" -v now="$(date +%s.%N)" -v m="$*" 'BEGIN { printf "%6.2fs %s\n", now - t0, m }'; }

# pod_init KIND N: copy the scripts with /scripts, /conf, /data pointing into the pod's dir, run the init.
pod_init() {
  local kind=$1 n=$2 d="$W/$1-$2"
  mkdir -p "$d/scripts" "$d/conf" "$d/data"
  for f in lib.sh redis.sh sentinel.sh; do
    sed -e "s|/scripts/|$d/scripts/|g" -e "s|/conf/|$d/conf/|g" -e "s|/data/|$d/data/|g" "$S/$f" >"$d/scripts/$f"
  done
  if [[ $kind == redis ]]; then POD_NAME=redis-$n sh "$d/scripts/redis.sh"; else POD_NAME=redis-sentinel-$n sh "$d/scripts/sentinel.sh"; fi
}
start_redis() {
  local n=$1 d="$W/redis-$1"
  pod_init redis "$n"
  sed -i -e "s|^bind .*|bind 127.0.1.$((n+1))|" -e "s|^dir /data|dir $d/data|" "$d/conf/redis.conf"
  redis-server "$d/conf/redis.conf" --daemonize yes --pidfile "$d/pid" --logfile "$d/log"
}
start_sentinel() {
  local n=$1 d="$W/sentinel-$1"
  pod_init sentinel "$n"
  grep -q '^bind ' "$d/data/sentinel.conf" || echo "bind 127.0.2.$((n+1))" >>"$d/data/sentinel.conf"
  redis-server "$d/data/sentinel.conf" --sentinel --daemonize yes --pidfile "$d/pid" --logfile "$d/log"
}
r() { local n=$1; shift; REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h redis-$n.redis "$@"; }
s() { local n=$1; shift; redis-cli -h redis-sentinel-$n.redis-sentinel -p 26379 "$@"; }
master() { s 0 --raw sentinel get-master-addr-by-name hotline | head -n1; }
until_() { local what=$1; shift; for _ in $(seq 1 600); do if "$@" >/dev/null 2>&1; then log "$what"; return 0; fi; sleep 0.1; done; log "TIMEOUT: $what"; exit 1; }

log "cold start: redis-0..2, then sentinels"
for n in 0 1 2; do start_redis $n & done
for n in 0 1 2; do start_sentinel $n; done
wait
until_ "sentinel ckquorum OK on all three" bash -c "for n in 0 1 2; do redis-cli -h redis-sentinel-\$n.redis-sentinel -p 26379 sentinel ckquorum hotline | grep -q '^OK' || exit 1; done"
log "master per sentinel 0: $(master)"
until_ "redis-1 and redis-2 linked to the master" bash -c "for n in 1 2; do REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h redis-\$n.redis info replication | grep -q 'master_link_status:up' || exit 1; done"
until_ "every sentinel knows both replicas" bash -c "for n in 0 1 2; do [ \$(redis-cli -h redis-sentinel-\$n.redis-sentinel -p 26379 sentinel replicas hotline | grep -c '^name\$') = 2 ] || exit 1; done"
r 0 info replication | grep -E '^(role|connected_slaves|slave[0-9])' | tr -d '\r'
for i in $(seq 1 100); do r 0 set "ticket:$i" "accepted" >/dev/null; done
r 0 wait 2 1000 | sed 's/^/WAIT acks: /'

log "SIGKILL the master redis-0"
kill -9 "$(cat $W/redis-0/pid)"
until_ "sentinels moved the master away from redis-0" bash -c "m=\$(redis-cli -h redis-sentinel-0.redis-sentinel -p 26379 --raw sentinel get-master-addr-by-name hotline | head -n1); [ -n \"\$m\" ] && [ \"\$m\" != redis-0.redis ]"
new=$(master); log "new master: $new"
n=${new#redis-}; n=${n%%.*}
log "tickets on the new master: $(r $n eval "return #redis.call('keys','ticket:*')" 0)"

log "restart redis-0 (its init asks the sentinels)"
start_redis 0
tail -n1 "$W/redis-0/conf/redis.conf"
until_ "redis-0 replicates from $new" bash -c "REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h redis-0.redis info replication | grep -q 'master_link_status:up'"

log "restart sentinel-1 from its kept file"
kill "$(cat $W/sentinel-1/pid)"; sleep 0.5
start_sentinel 1
until_ "sentinel-1 reports $new" bash -c "[ \"\$(redis-cli -h redis-sentinel-1.redis-sentinel -p 26379 --raw sentinel get-master-addr-by-name hotline | head -n1)\" = $new ]"

log "write refused when the master loses both replicas (min-replicas-to-write)"
for k in 0 1 2; do [[ $k == "$n" ]] || r $k shutdown nosave >/dev/null 2>&1 || true; done
sleep 12
r $n set ticket:late x || true
r $n wait 0 0 >/dev/null
log "stop everything (the master last), then start all six pods at once"
for k in 0 1 2; do kill "$(cat $W/sentinel-$k/pid)"; done
r $n shutdown >/dev/null 2>&1 || true
sleep 1
for k in 0 1 2; do start_redis $k & done
for k in 0 1 2; do start_sentinel $k & done
wait
until_ "every replica linked again" bash -c "c=0; for k in 0 1 2; do REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h redis-\$k.redis info replication | grep -q 'master_link_status:up' && c=\$((c+1)); done; [ \$c = 2 ]"
log "master after the full restart: $(master) (was $new); tickets there: $(r $n eval "return #redis.call('keys','ticket:*')" 0)"
log done
