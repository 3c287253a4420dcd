#!/usr/bin/env bash
# hotline — render the Asterisk config templates in this directory.
#
#   render.sh OUT_ETC_DIR
#
# Writes every *.conf template of deploy/asterisk/ into OUT_ETC_DIR with the
# @PLACEHOLDERS@ substituted, and generates pjsip_agents.conf from
# HOTLINE_SIP_AGENTS. Used by deploy/local/stack.sh and by the compose
# Asterisk image entrypoint, so both run exactly the same configuration.
#
# Environment (defaults in brackets):
#   HOTLINE_INSTANCE_DIR   instance dir as Asterisk sees it (@RUN@) [required]
#   HOTLINE_SIP_PORT       UDP port of the SIP transport            [5060]
#   HOTLINE_SIP_BIND       SIP bind address                          [127.0.0.1]
#   HOTLINE_ARI_URL        ARI base URL; its port becomes @ARI_PORT@ [http://127.0.0.1:8088/ari]
#   HOTLINE_ARI_PORT       overrides the port taken from HOTLINE_ARI_URL
#   HOTLINE_ARI_BIND       HTTP (ARI) bind address                   [127.0.0.1]
#   HOTLINE_ARI_USER       ARI user                                  [hotline]
#   HOTLINE_ARI_PASSWORD   ARI password (plain)                      [required]
#   HOTLINE_ARI_APP        Stasis application name                   [hotline]
#   HOTLINE_ARI_APPS       every replica's application, comma-separated: the dialplan
#                          spreads inbound calls over them and skips one with no replica
#                          connected [HOTLINE_ARI_APP]
#   HOTLINE_CARRIER_CONTACT  static contact of the carrier AOR       [sip:127.0.0.1:5080]
#   HOTLINE_CARRIER_ADDRS  the carrier's source addresses (IP/CIDR, comma-separated): calls
#                          from them are the carrier's, and only they may call in [127.0.0.1]
#                          (HOTLINE_CARRIER_MATCH is the older name, still read)
#   HOTLINE_AGENT_NETS     where agents' softphones may register and call from
#                          (IP/CIDR, comma-separated); they must authenticate too [127.0.0.1]
#   HOTLINE_SIP_AGENTS     "ext:secret,ext:secret,..."                [empty]
#   HOTLINE_RTP_START / HOTLINE_RTP_END  RTP port range
#                          [10000 + (SIP_PORT % 113) * 400, 400 ports]
#   HOTLINE_SIP_EDGE       cluster mode: Kamailio's SIP address IPv4:PORT [unset: single node]
#                          The node takes calls only from the edge (endpoint "edge",
#                          context from-edge, cluster/pjsip.conf instead of pjsip.conf,
#                          cluster/extensions-edge.conf appended to extensions.conf),
#                          dials agents as PJSIP/edge/sip:<agent>@<edge> and has no
#                          agent endpoints: phones register at the edge. Unset, the
#                          output is exactly the single-node configuration.
set -euo pipefail

TEMPLATE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { echo "render.sh: error: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: render.sh OUT_ETC_DIR"
OUT="$1"

INSTANCE_DIR="${HOTLINE_INSTANCE_DIR:-}"
[[ -n "$INSTANCE_DIR" ]] || die "HOTLINE_INSTANCE_DIR is not set"
SIP_PORT="${HOTLINE_SIP_PORT:-5060}"
SIP_BIND="${HOTLINE_SIP_BIND:-127.0.0.1}"
ARI_URL="${HOTLINE_ARI_URL:-http://127.0.0.1:8088/ari}"
ARI_BIND="${HOTLINE_ARI_BIND:-127.0.0.1}"
ARI_USER="${HOTLINE_ARI_USER:-hotline}"
ARI_PASSWORD="${HOTLINE_ARI_PASSWORD:-}"
APP="${HOTLINE_ARI_APP:-hotline}"
APPS="${HOTLINE_ARI_APPS:-$APP}"
CARRIER_CONTACT="${HOTLINE_CARRIER_CONTACT:-sip:127.0.0.1:5080}"
CARRIER_MATCH="${HOTLINE_CARRIER_ADDRS:-${HOTLINE_CARRIER_MATCH:-127.0.0.1}}"
AGENT_NETS="${HOTLINE_AGENT_NETS:-127.0.0.1}"
SIP_AGENTS="${HOTLINE_SIP_AGENTS:-}"
EDGE="${HOTLINE_SIP_EDGE:-}"

if [[ -n "${HOTLINE_ARI_PORT:-}" ]]; then
  ARI_PORT="$HOTLINE_ARI_PORT"
elif [[ "$ARI_URL" =~ ^https?://[^/]+:([0-9]+)(/.*)?$ ]]; then
  ARI_PORT="${BASH_REMATCH[1]}"
else
  die "cannot take the ARI port from HOTLINE_ARI_URL='$ARI_URL' (expected http://host:PORT/ari); set HOTLINE_ARI_PORT"
fi

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }
is_port "$SIP_PORT" || die "HOTLINE_SIP_PORT='$SIP_PORT' is not a port number"
is_port "$ARI_PORT" || die "ARI port '$ARI_PORT' is not a port number"

RTP_START="${HOTLINE_RTP_START:-$(( 10000 + (SIP_PORT % 113) * 400 ))}"
RTP_END="${HOTLINE_RTP_END:-$(( RTP_START + 399 ))}"
is_port "$RTP_START" && is_port "$RTP_END" && (( RTP_START < RTP_END )) \
  || die "bad RTP range $RTP_START-$RTP_END (HOTLINE_RTP_START/HOTLINE_RTP_END)"

# Values end up in Asterisk config files: no ';' (comment), no whitespace,
# no quotes, no newlines.
SAFE='^[A-Za-z0-9_.@%+=!~^/:*-]+$'
check() { # name value
  [[ "$2" =~ $SAFE ]] || die "$1='$2' is empty or contains characters not allowed in Asterisk config (allowed: A-Z a-z 0-9 _ . @ % + = ! ~ ^ / : * -)"
}
check HOTLINE_ARI_PASSWORD "$ARI_PASSWORD"
[[ "$ARI_USER" =~ ^[A-Za-z0-9_.-]+$ ]] || die "HOTLINE_ARI_USER='$ARI_USER' must match [A-Za-z0-9_.-]+"
[[ "$APP" =~ ^[A-Za-z0-9_.-]+$ ]] || die "HOTLINE_ARI_APP='$APP' must match [A-Za-z0-9_.-]+"
[[ "$APPS" =~ ^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$ ]] || die "HOTLINE_ARI_APPS='$APPS' must be application names ([A-Za-z0-9_.-]+) separated by commas"
APPS_DIALPLAN="$(tr ',' '&' <<<"$APPS")" # the dialplan's list separator (CUT/FIELDQTY)
[[ "$CARRIER_CONTACT" =~ ^sips?:[^[:space:]\;,]+$ ]] || die "HOTLINE_CARRIER_CONTACT='$CARRIER_CONTACT' must be a SIP URI like sip:127.0.0.1:5080"
ADDRS_RE='^[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*$'
[[ "$CARRIER_MATCH" =~ $ADDRS_RE ]] || die "HOTLINE_CARRIER_ADDRS='$CARRIER_MATCH' must be IP addresses/CIDRs separated by commas"
[[ "$AGENT_NETS" =~ $ADDRS_RE ]] || die "HOTLINE_AGENT_NETS='$AGENT_NETS' must be IP addresses/CIDRs separated by commas"
for net in ${CARRIER_MATCH//,/ } ${AGENT_NETS//,/ }; do
  case "$net" in 0.0.0.0/0|0.0.0.0/0.0.0.0|::/0|0::/0)
    die "'$net' in HOTLINE_CARRIER_ADDRS/HOTLINE_AGENT_NETS would let the whole Internet call in; name the carrier's and the agents' addresses";; esac
done
# The SIP access list: the carrier's addresses and the agents' networks.
SIP_ALLOWED="$CARRIER_MATCH,$AGENT_NETS"
IPRE='^[][0-9A-Fa-f.:]+$'
[[ "$SIP_BIND" =~ $IPRE ]] || die "HOTLINE_SIP_BIND='$SIP_BIND' must be an IP address"
[[ "$ARI_BIND" =~ $IPRE ]] || die "HOTLINE_ARI_BIND='$ARI_BIND' must be an IP address"
[[ "$INSTANCE_DIR" =~ ^/[A-Za-z0-9_./-]+$ ]] || die "HOTLINE_INSTANCE_DIR='$INSTANCE_DIR' must be an absolute path of [A-Za-z0-9_./-]"

EDGE_IP="" EDGE_ALLOWED="" CONTACT_ALLOWED="$SIP_ALLOWED"
if [[ -n "$EDGE" ]]; then
  EDGE_IP="${EDGE%:*}"
  [[ "$EDGE" == *:* && "$EDGE_IP" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] && is_port "${EDGE##*:}" \
    || die "HOTLINE_SIP_EDGE='$EDGE' must be Kamailio's address as IPv4:PORT, e.g. 127.0.0.1:5060"
  [[ "$EDGE" != "$SIP_BIND:$SIP_PORT" ]] || die "HOTLINE_SIP_EDGE='$EDGE' is this node's own SIP address"
  # Requests from the edge and the carrier (in-dialog, on callbacks);
  # contacts also in the agents' networks (phones answering through the edge).
  EDGE_ALLOWED="$EDGE_IP,$CARRIER_MATCH"
  CONTACT_ALLOWED="$EDGE_IP,$CARRIER_MATCH,$AGENT_NETS"
fi

# --- agents -----------------------------------------------------------------
AGENTS_CONF="; hotline — GENERATED from HOTLINE_SIP_AGENTS by deploy/asterisk/render.sh; do not edit.
"
declare -A seen=()
if [[ -n "$EDGE" ]]; then
  AGENTS_CONF+="; cluster node: the agents' phones register at the SIP edge ($EDGE), not here.
"
fi
if [[ -n "${SIP_AGENTS//[[:space:]]/}" ]]; then
  IFS=',' read -r -a entries <<<"$SIP_AGENTS"
  for raw in "${entries[@]}"; do
    entry="${raw//[[:space:]]/}"
    [[ -n "$entry" ]] || continue
    if [[ ! "$entry" =~ ^([0-9A-Za-z_-]{1,32}):([A-Za-z0-9_.@%+=!~^*-]{4,})$ ]]; then
      die "HOTLINE_SIP_AGENTS: bad entry '$raw'. Expected a comma-separated list of EXTENSION:SECRET, e.g. \"1001:secret1001,1002:secret1002\" (extension 1-32 of [0-9A-Za-z_-], secret at least 4 of [A-Za-z0-9_.@%+=!~^*-])"
    fi
    ext="${BASH_REMATCH[1]}" secret="${BASH_REMATCH[2]}"
    case "$ext" in carrier|carrier-identify|edge|edge-identify|transport-udp|global|system|*-auth)
      die "HOTLINE_SIP_AGENTS: extension name '$ext' is reserved";; esac
    [[ -z "${seen[$ext]:-}" ]] || die "HOTLINE_SIP_AGENTS: extension '$ext' is listed twice"
    seen[$ext]=1
    [[ -z "$EDGE" ]] || continue # checked, but no endpoint: the edge has them
    AGENTS_CONF+="
[$ext]
type = endpoint
transport = transport-udp
context = agents
identify_by = username
disallow = all
allow = ulaw,alaw
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
dtmf_mode = rfc4733
auth = $ext-auth
aors = $ext
callerid = Agent $ext <$ext>

[$ext-auth]
type = auth
auth_type = userpass
username = $ext
password = $secret

[$ext]
type = aor
max_contacts = 1
remove_existing = yes
qualify_frequency = 0
default_expiration = 3600
"
  done
fi

# --- render -------------------------------------------------------------------
sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

subst() { # template -> stdout
  sed -e "s|@RUN@|$(sed_escape "$INSTANCE_DIR")|g" \
      -e "s|@SIP_PORT@|$SIP_PORT|g" \
      -e "s|@SIP_BIND@|$(sed_escape "$SIP_BIND")|g" \
      -e "s|@ARI_PORT@|$ARI_PORT|g" \
      -e "s|@ARI_BIND@|$(sed_escape "$ARI_BIND")|g" \
      -e "s|@ARI_USER@|$(sed_escape "$ARI_USER")|g" \
      -e "s|@ARI_PASSWORD@|$(sed_escape "$ARI_PASSWORD")|g" \
      -e "s|@APP@|$(sed_escape "$APP")|g" \
      -e "s|@APPS@|$(sed_escape "$APPS_DIALPLAN")|g" \
      -e "s|@CARRIER_CONTACT@|$(sed_escape "$CARRIER_CONTACT")|g" \
      -e "s|@CARRIER_MATCH@|$(sed_escape "$CARRIER_MATCH")|g" \
      -e "s|@SIP_ALLOWED@|$(sed_escape "$SIP_ALLOWED")|g" \
      -e "s|@RTP_START@|$RTP_START|g" \
      -e "s|@RTP_END@|$RTP_END|g" \
      -e "s|@EDGE@|$(sed_escape "$EDGE")|g" \
      -e "s|@EDGE_IP@|$(sed_escape "$EDGE_IP")|g" \
      -e "s|@EDGE_ALLOWED@|$(sed_escape "$EDGE_ALLOWED")|g" \
      -e "s|@CONTACT_ALLOWED@|$(sed_escape "$CONTACT_ALLOWED")|g" \
      "$1"
}

mkdir -p "$OUT"
rm -f "$OUT"/*.conf
shopt -s nullglob
for tpl in "$TEMPLATE_DIR"/*.conf; do
  subst "$tpl" >"$OUT/$(basename "$tpl")"
done
if [[ -n "$EDGE" ]]; then
  subst "$TEMPLATE_DIR/cluster/pjsip.conf" >"$OUT/pjsip.conf"
  subst "$TEMPLATE_DIR/cluster/extensions-edge.conf" >>"$OUT/extensions.conf"
fi
printf '%s' "$AGENTS_CONF" >"$OUT/pjsip_agents.conf"
# Modules we load with their built-in defaults still want their file to exist.
for f in acl.conf ccss.conf features.conf udptl.conf pjproject.conf pjsip_notify.conf \
         aeap.conf websocket_client.conf chan_websocket.conf res_fax.conf \
         res_http_media_cache.conf; do
  [[ -e "$OUT/$f" ]] || echo "; hotline — intentionally empty: built-in defaults (generated by render.sh)" >"$OUT/$f"
done
chmod 600 "$OUT"/pjsip_agents.conf "$OUT"/ari.conf

if leftover=$(grep -l '@[A-Z_]*@' "$OUT"/*.conf); then
  die "unsubstituted placeholders in: $leftover"
fi
echo "render.sh: rendered $(ls "$OUT" | wc -l) files into $OUT (${EDGE:+cluster node behind $EDGE, }SIP $SIP_BIND:$SIP_PORT, ARI $ARI_BIND:$ARI_PORT, RTP $RTP_START-$RTP_END, carrier: $CARRIER_MATCH, agent nets: $AGENT_NETS, agents: ${!seen[*]})" >&2
