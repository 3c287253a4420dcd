#!/bin/sh
# hotline — writes this sentinel's configuration (init container of
# StatefulSet redis-sentinel). Sentinel rewrites its file as the master
# moves, and the file is on the pod's volume, so after a restart of
# everything the sentinels still know which Redis was the master last. Only
# the password and the announced name are refreshed then.
set -eu
. /scripts/lib.sh

self="$POD_NAME.redis-sentinel"
conf=/data/sentinel.conf

if [ -s "$conf" ]; then
  sed -i \
    -e "s|^sentinel auth-pass $HOTLINE_REDIS_MASTER .*|sentinel auth-pass $HOTLINE_REDIS_MASTER $REDIS_PASSWORD|" \
    -e "s|^sentinel announce-ip .*|sentinel announce-ip $self|" \
    "$conf"
  echo "sentinel.sh: kept $conf"
  exit 0
fi

master=$(ask_sentinels "$POD_NAME.redis-sentinel" || ask_redis || echo redis-0.redis)
# Sentinel refuses a monitor line whose host does not resolve yet.
until getent hosts "$master" >/dev/null 2>&1; do
  echo "sentinel.sh: waiting for $master to resolve"
  sleep 2
done

cat >"$conf" <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $self
sentinel monitor $HOTLINE_REDIS_MASTER $master 6379 2
sentinel auth-pass $HOTLINE_REDIS_MASTER $REDIS_PASSWORD
# A master that has not answered for 5 s is down (two sentinels must agree).
sentinel down-after-milliseconds $HOTLINE_REDIS_MASTER 5000
sentinel failover-timeout $HOTLINE_REDIS_MASTER 60000
sentinel parallel-syncs $HOTLINE_REDIS_MASTER 1
CONF
echo "sentinel.sh: $self monitors $HOTLINE_REDIS_MASTER at $master"
