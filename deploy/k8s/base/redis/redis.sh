#!/bin/sh
# hotline — writes this Redis pod's configuration to /conf/redis.conf (init
# container of StatefulSet redis). The pod follows the master the sentinels
# name, else a Redis pod that is a master; when nobody answers (the very
# first start) redis-0 is the master and the others replicate from it.
# Sentinel moves the master from then on.
set -eu
. /scripts/lib.sh
: "${REDIS_MAXMEMORY:?}"

self="$POD_NAME.redis"
master=$(ask_sentinels || ask_redis || true)
if [ -z "$master" ]; then
  master=redis-0.redis
fi

cat >/conf/redis.conf <<CONF
port 6379
bind * -::*
dir /data
# Every acknowledged write is on disk within a second (as on the local stack).
appendonly yes
appendfsync everysec
requirepass $REDIS_PASSWORD
masterauth $REDIS_PASSWORD
# Known to the sentinels and to the controllers by name, not by pod IP,
# which changes when a pod is recreated.
replica-announce-ip $self
# A master cut off from both replicas stops taking writes after 10 s, so a
# partitioned old master cannot take tickets that the failover would lose.
min-replicas-to-write 1
min-replicas-max-lag 10
# Below the container's memory limit; never evict (tickets are not a cache).
maxmemory $REDIS_MAXMEMORY
maxmemory-policy noeviction
CONF
if [ "$master" != "$self" ]; then
  echo "replicaof $master 6379" >>/conf/redis.conf
  echo "redis.sh: $self replicates from $master"
else
  echo "redis.sh: $self is the master"
fi
