# hotline — shared by redis.sh and sentinel.sh (POSIX sh, run in the Redis
# image's init containers). Finds the current Redis master by asking, in
# order, the sentinels and then the Redis pods themselves.
#
# Environment: HOTLINE_REDIS_SENTINELS, HOTLINE_REDIS_MASTER (ConfigMap
# hotline-env), REDIS_PASSWORD (Secret hotline-redis), POD_NAME.
# Pod names: StatefulSet redis behind headless Service redis, and
# redis-sentinel behind redis-sentinel (README.md: no namePrefix).

die() { echo "$0: error: $*" >&2; exit 1; }

: "${HOTLINE_REDIS_SENTINELS:?set in ConfigMap hotline-env}"
: "${HOTLINE_REDIS_MASTER:?set in ConfigMap hotline-env}"
: "${REDIS_PASSWORD:?from Secret hotline-redis}"
: "${POD_NAME:?from the downward API}"

# The password is written into redis.conf and sentinel.conf: keep it to
# characters those files take unquoted (openssl rand -hex 32 does).
case "$REDIS_PASSWORD" in
  *[!A-Za-z0-9._+=/-]*) die "the Redis password may hold only A-Z a-z 0-9 . _ + = / - (make one with: openssl rand -hex 32)" ;;
esac
[ "${#REDIS_PASSWORD}" -ge 16 ] || die "the Redis password is shorter than 16 characters"

# ask_sentinels [SKIP]: the master's host as a sentinel reports it.
ask_sentinels() {
  for s in $(echo "$HOTLINE_REDIS_SENTINELS" | tr ',' ' '); do
    h=${s%:*} p=${s##*:}
    [ "$h" = "${1:-}" ] && continue
    m=$(timeout 3 redis-cli -h "$h" -p "$p" --raw sentinel get-master-addr-by-name "$HOTLINE_REDIS_MASTER" 2>/dev/null | head -n 1) || m=
    if [ -n "$m" ]; then
      echo "$m"
      return 0
    fi
  done
  return 1
}

# ask_redis: the first Redis pod that says it is a master. StatefulSet
# names are redis-0, redis-1, ...; a name that does not resolve is a pod
# that does not exist (or is not up) now.
ask_redis() {
  i=0
  while [ "$i" -lt 16 ]; do
    h="redis-$i.redis"
    if [ "$i" != "${POD_NAME#redis-}" ] && getent hosts "$h" >/dev/null 2>&1; then
      if REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 redis-cli -h "$h" -p 6379 info replication 2>/dev/null | grep -q '^role:master'; then
        echo "$h"
        return 0
      fi
    fi
    i=$((i + 1))
  done
  return 1
}
