#!/usr/bin/env bash
# hotline — Asterisk container entrypoint: render deploy/asterisk templates
# from the HOTLINE_* environment, then run Asterisk in the foreground.
set -euo pipefail

inst="${HOTLINE_ASTERISK_INSTANCE:-compose}"
export HOTLINE_INSTANCE_DIR="/var/lib/hotline/$inst"

/opt/hotline/asterisk/render.sh "$HOTLINE_INSTANCE_DIR/etc"
mkdir -p "$HOTLINE_INSTANCE_DIR"/{lib/keys,cache,spool/recording,run,log}
rm -f "$HOTLINE_INSTANCE_DIR/run/asterisk.ctl" "$HOTLINE_INSTANCE_DIR/run/asterisk.pid"

if [[ -z "$(ls -A /usr/share/asterisk/moh-hotline 2>/dev/null)" ]]; then
  echo "hotline-asterisk: note: /usr/share/asterisk/moh-hotline is empty; music on hold stays off until it is filled and 'moh reload' runs" >&2
fi

exec /usr/sbin/asterisk -f -n -C "$HOTLINE_INSTANCE_DIR/etc/asterisk.conf" "$@"
