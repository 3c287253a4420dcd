#!/usr/bin/env bash
# hotline — Kamailio container entrypoint. Renders deploy/kamailio/ from the
# HOTLINE_* environment with its render.sh (render.sh OUT_DIR, as
# deploy/asterisk/render.sh does), or takes the files as they are when there
# is no renderer; checks the configuration, then runs Kamailio in the
# foreground, logging to stderr, as the kamailio user.
set -euo pipefail

src=/opt/hotline/kamailio
out=/run/hotline-kamailio

if [[ -f "$src/render.sh" ]]; then
  bash "$src/render.sh" "$out"
else
  cp -R "$src/." "$out/"
fi
cfg="$out/kamailio.cfg"
[[ -f "$cfg" ]] || { echo "hotline-kamailio: error: no kamailio.cfg in $src (deploy/kamailio)" >&2; exit 1; }
chown -R kamailio:kamailio /run/kamailio
kamailio -c -f "$cfg"
exec kamailio -DD -E -u kamailio -g kamailio -f "$cfg" "$@"
