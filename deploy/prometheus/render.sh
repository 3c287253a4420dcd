#!/usr/bin/env bash
# Renders prometheus.yml.tmpl to stdout.
#
# Usage: deploy/prometheus/render.sh TARGET INTERVAL [RULES_DIR]
#   TARGET     the controller's HOST:PORT (HOTLINE_HTTP_ADDR), scraped at /metrics;
#              several controllers (a cluster) as HOST:PORT,HOST:PORT,...
#   INTERVAL   scrape and rule evaluation interval, e.g. 5s (dev) or 1s (tests)
#   RULES_DIR  directory of recording.yml / alerts.yml [this dir/rules]; made
#              absolute, because Prometheus resolves relative rule_files
#              against the rendered file's directory, not this one.
# Used by check.sh and deploy/local/prometheus.sh.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "render: error: $*" >&2; exit 1; }

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 TARGET INTERVAL [RULES_DIR]"
target="$1" interval="$2" rules="${3:-$DIR/rules}"
for one in ${target//,/ }; do
  [[ "$one" =~ ^[A-Za-z0-9._-]+:[0-9]+$ || "$one" =~ ^\[[0-9A-Fa-f:.]+\]:[0-9]+$ ]] \
    || die "TARGET '$one' must be HOST:PORT"
done
[[ -n "${target//,/}" && "$target" != *,,* && "$target" != ,* && "$target" != *, ]] || die "TARGET '$target' must be HOST:PORT[,HOST:PORT...]"
# The template quotes one target: ['@TARGET@']; several become 'a', 'b'.
target="${target//,/\', \'}"
[[ "$interval" =~ ^[0-9]+(ms|s|m|h)$ ]] || die "INTERVAL '$interval' must be a duration like 1s, 5s, 1m"
[[ -d "$rules" ]] || die "RULES_DIR '$rules' is not a directory"
rules="$(cd "$rules" && pwd)"
[[ "$rules" != *[\'\"\|\&\\]* ]] || die "RULES_DIR '$rules' contains a character this renderer does not quote"

out="$(sed -e "s|@TARGET@|$target|g" -e "s|@INTERVAL@|$interval|g" -e "s|@RULES_DIR@|$rules|g" "$DIR/prometheus.yml.tmpl")"
left="$(grep -o '@[A-Z_]*@' <<<"$out" | sort -u | tr '\n' ' ' || true)"
[[ -z "$left" ]] || die "placeholders left unrendered: $left"
printf '%s\n' "$out"
