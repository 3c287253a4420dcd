#!/bin/sh
# hotline — writes this Redis pod's configuration to /conf/redis.conf (init
# container of StatefulSet redis). The pod follows the master the sentinels
# name; if no sentinel answers within two minutes, a Redis pod that is a
# master, else redis-0. Sentinel moves the master from then on.
set -eu
. /scripts/lib.sh
: "${REDIS_MAXMEMORY:?}"

self="$POD_NAME.redis"
# The sentinels know best (their files survive restarts), so wait for them a
# while: when every pod restarts at once, the Redis pods must not settle on
# a master among themselves before the sentinels are back. The sentinels do
# not wait for Redis, so on the very first start they answer redis-0 soon.
master=
tries=0
while [ -z "$master" ] && [ "$tries" -lt 60 ]; do
  master=$(ask_sentinels || true)
  [ -n "$master" ] && break
  tries=$((tries + 1))
  echo "redis.sh: no sentinel answers yet ($tries)"
  sleep 2
done
if [ -z "$master" ]; then
  master=$(ask_redis || echo redis-0.redis)
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
