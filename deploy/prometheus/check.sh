#!/usr/bin/env bash
# Validates the Prometheus set-up of the hotline: renders the config template,
# then runs
#   promtool check config   (the rendered config, for a test and a dev interval;
#                            this also loads the rule files it references)
#   promtool check rules    rules/*.yml
#   promtool test rules     tests/*.yml (every alert fires and stays quiet at
#                            least once; the key recording rules' values)
# Exits non-zero on the first failure. Installs Debian's `prometheus` package
# (which ships /usr/bin/promtool) when promtool is missing. Called by `make test`.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "prometheus-check: $*" >&2; }
die() { echo "prometheus-check: error: $*" >&2; exit 1; }

install_prometheus() {
  [[ $EUID -eq 0 ]] || die "promtool missing and not root; run: apt-get install -y prometheus"
  command -v apt-get >/dev/null || die "promtool missing and no apt-get; install Prometheus 2.x (promtool) by hand"
  export DEBIAN_FRONTEND=noninteractive
  # Other sessions may be running apt: wait for the dpkg lock instead of failing.
  local apt=(apt-get -o DPkg::Lock::Timeout=300)
  log "promtool missing: installing the prometheus package"
  if ! "${apt[@]}" install -y --no-install-recommends prometheus; then
    log "install failed; running apt-get update and retrying"
    "${apt[@]}" update
    "${apt[@]}" install -y --no-install-recommends prometheus
  fi
  command -v promtool >/dev/null || die "promtool still missing after installing prometheus"
}

command -v promtool >/dev/null || install_prometheus
log "$(promtool --version 2>&1 | head -n1)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for interval in 1s 5s; do
  "$DIR/render.sh" 127.0.0.1:8090 "$interval" "$DIR/rules" >"$tmp/prometheus-$interval.yml"
  promtool check config "$tmp/prometheus-$interval.yml"
done
# A cluster: one Prometheus scraping every controller (deploy/local/cluster.sh).
"$DIR/render.sh" 127.0.0.1:8094,127.0.0.1:8095 1s "$DIR/rules" >"$tmp/prometheus-cluster.yml"
promtool check config "$tmp/prometheus-cluster.yml"
promtool check rules "$DIR"/rules/*.yml
promtool test rules "$DIR"/tests/*.yml
log "all green"
