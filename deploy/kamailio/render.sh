#!/usr/bin/env bash
# hotline — render the Kamailio (SIP edge) configuration of a cluster.
#
#   render.sh OUT_DIR
#
# Writes OUT_DIR/kamailio.cfg from the template in this directory, with the
# @PLACEHOLDERS@ substituted, and generates OUT_DIR/hotline-agents.cfg (the
# agents' SIP passwords, loaded into an htable at start-up; mode 600) and
# OUT_DIR/dispatcher.list (the Asterisk nodes). Used by deploy/local/cluster.sh
# and the e2e cluster stack; the result passes `kamailio -c -f OUT_DIR/kamailio.cfg`.
#
# Environment (defaults in brackets):
#   HOTLINE_SIP_EDGE       Kamailio's SIP address IP:PORT (UDP); the nodes send
#                          calls for agents there                       [127.0.0.1:5060]
#   HOTLINE_SIP_NODES      the Asterisk nodes' SIP addresses, IP:PORT,... [required]
#   HOTLINE_KAMAILIO_RPC   JSON-RPC URL http://IP:PORT/RPC (HTTP on TCP; no
#                          authentication: loopback or a management net) [http://127.0.0.1:5071/RPC]
#   HOTLINE_CARRIER_ADDRS  the carrier's source addresses (IP/CIDR,...)  [127.0.0.1]
#   HOTLINE_AGENT_NETS     where softphones may register and call from   [127.0.0.1]
#   HOTLINE_SIP_AGENTS     "ext:secret,ext:secret,..."                   [empty]
#   HOTLINE_KAMAILIO_PROBE_INTERVAL  seconds between OPTIONS probes of a node [1]
#   HOTLINE_KAMAILIO_PROBE_FAILURES  unanswered probes before a node gets no calls [2]
#   HOTLINE_KAMAILIO_NODE_TIMEOUT_MS an INVITE a node does not answer within this
#                          goes to the next node                         [1500]
#   HOTLINE_KAMAILIO_CHILDREN  UDP worker processes                      [4]
#   HOTLINE_KAMAILIO_KEEPALIVE_S  seconds between in-dialog OPTIONS to the caller's
#                          side of a call (and to agents' phones); a far end that
#                          no longer has the call is hung up ~10 s after one goes
#                          unanswered. 30 is the lowest Kamailio takes   [30]
set -euo pipefail

TEMPLATE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "kamailio/render.sh: error: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: render.sh OUT_DIR"
OUT="$1"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

EDGE="${HOTLINE_SIP_EDGE:-127.0.0.1:5060}"
NODES="${HOTLINE_SIP_NODES:-}"
RPC="${HOTLINE_KAMAILIO_RPC:-http://127.0.0.1:5071/RPC}"
CARRIER="${HOTLINE_CARRIER_ADDRS:-${HOTLINE_CARRIER_MATCH:-127.0.0.1}}"
AGENT_NETS="${HOTLINE_AGENT_NETS:-127.0.0.1}"
SIP_AGENTS="${HOTLINE_SIP_AGENTS:-}"
PROBE_INTERVAL="${HOTLINE_KAMAILIO_PROBE_INTERVAL:-1}"
PROBE_FAILURES="${HOTLINE_KAMAILIO_PROBE_FAILURES:-2}"
NODE_TIMEOUT="${HOTLINE_KAMAILIO_NODE_TIMEOUT_MS:-1500}"
CHILDREN="${HOTLINE_KAMAILIO_CHILDREN:-4}"
KEEPALIVE="${HOTLINE_KAMAILIO_KEEPALIVE_S:-30}"

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }
IPV4='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
ip_port() { # NAME VALUE -> sets HOST PORT
  HOST="${2%:*}" PORT="${2##*:}"
  [[ "$2" == *:* && "$HOST" =~ $IPV4 ]] && is_port "$PORT" \
    || die "$1='$2' must be IPv4:PORT, e.g. 127.0.0.1:5060"
}
ip_port HOTLINE_SIP_EDGE "$EDGE"
SIP_ADDR="$HOST" SIP_PORT="$PORT"
[[ "$RPC" =~ ^http://([0-9.]+):([0-9]+)/RPC$ ]] \
  || die "HOTLINE_KAMAILIO_RPC='$RPC' must be http://IPv4:PORT/RPC"
RPC_ADDR="${BASH_REMATCH[1]}" RPC_PORT="${BASH_REMATCH[2]}"
[[ "$RPC_ADDR" =~ $IPV4 ]] && is_port "$RPC_PORT" || die "HOTLINE_KAMAILIO_RPC='$RPC': bad address or port"
(( RPC_PORT != SIP_PORT )) || die "HOTLINE_KAMAILIO_RPC's port $RPC_PORT is the SIP port; give it its own"
[[ "$PROBE_INTERVAL" =~ ^[0-9]+$ ]] && (( PROBE_INTERVAL >= 1 && PROBE_INTERVAL <= 60 )) \
  || die "HOTLINE_KAMAILIO_PROBE_INTERVAL='$PROBE_INTERVAL' must be 1..60 seconds"
[[ "$PROBE_FAILURES" =~ ^[0-9]+$ ]] && (( PROBE_FAILURES >= 1 && PROBE_FAILURES <= 10 )) \
  || die "HOTLINE_KAMAILIO_PROBE_FAILURES='$PROBE_FAILURES' must be 1..10"
[[ "$NODE_TIMEOUT" =~ ^[0-9]+$ ]] && (( NODE_TIMEOUT >= 200 && NODE_TIMEOUT <= 30000 )) \
  || die "HOTLINE_KAMAILIO_NODE_TIMEOUT_MS='$NODE_TIMEOUT' must be 200..30000"
[[ "$CHILDREN" =~ ^[0-9]+$ ]] && (( CHILDREN >= 1 && CHILDREN <= 64 )) \
  || die "HOTLINE_KAMAILIO_CHILDREN='$CHILDREN' must be 1..64"
# Kamailio's dialog module refuses a keep-alive interval under 30 s.
[[ "$KEEPALIVE" =~ ^[0-9]+$ ]] && (( KEEPALIVE >= 30 && KEEPALIVE <= 3600 )) \
  || die "HOTLINE_KAMAILIO_KEEPALIVE_S='$KEEPALIVE' must be 30..3600 seconds (Kamailio's dialog keep-alive takes no less than 30)"
# The keep-alive timer's step: the interval is kept to within a tenth.
KEEPALIVE_STEP=$(( KEEPALIVE / 10 ))

# Address lists become CIDR lists for ipops' is_in_subnet.
cidrs() { # NAME VALUE
  local out="" net
  [[ "$2" =~ ^[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*$ ]] || die "$1='$2' must be IP addresses/CIDRs separated by commas"
  for net in ${2//,/ }; do
    case "$net" in 0.0.0.0/0|::/0|0::/0)
      die "'$net' in $1 would let the whole Internet in; name the carrier's and the agents' addresses";; esac
    if [[ "$net" != */* ]]; then
      if [[ "$net" == *:* ]]; then net="$net/128"; else net="$net/32"; fi
    fi
    out+="${out:+,}$net"
  done
  echo "$out"
}
CARRIER_CIDRS="$(cidrs HOTLINE_CARRIER_ADDRS "$CARRIER")"
AGENT_CIDRS="$(cidrs HOTLINE_AGENT_NETS "$AGENT_NETS")"

# --- the nodes -----------------------------------------------------------------
[[ -n "$NODES" ]] || die "HOTLINE_SIP_NODES is empty: list the Asterisk nodes' SIP addresses (IP:PORT,...)"
DLIST="# hotline — GENERATED from HOTLINE_SIP_NODES by deploy/kamailio/render.sh; do not edit.
# setid destination flags(8 = probing) priority
"
declare -A seen_node=()
for n in ${NODES//,/ }; do
  ip_port HOTLINE_SIP_NODES "$n"
  [[ "$n" != "$EDGE" ]] || die "HOTLINE_SIP_NODES: $n is Kamailio's own address (HOTLINE_SIP_EDGE)"
  [[ -z "${seen_node[$n]:-}" ]] || die "HOTLINE_SIP_NODES: $n is listed twice"
  seen_node[$n]=1
  DLIST+="1 sip:$n 8 0
"
done

# --- the agents ----------------------------------------------------------------
AGENTS="# hotline — GENERATED from HOTLINE_SIP_AGENTS by deploy/kamailio/render.sh; do not edit.
event_route[htable:mod-init] {
"
declare -A seen=()
if [[ -n "${SIP_AGENTS//[[:space:]]/}" ]]; then
  IFS=',' read -r -a entries <<<"$SIP_AGENTS"
  for raw in "${entries[@]}"; do
    entry="${raw//[[:space:]]/}"
    [[ -n "$entry" ]] || continue
    [[ "$entry" =~ ^([0-9A-Za-z_-]{1,32}):([A-Za-z0-9_.@%+=!~^*-]{4,})$ ]] \
      || die "HOTLINE_SIP_AGENTS: bad entry '$raw'. Expected EXTENSION:SECRET,... (extension 1-32 of [0-9A-Za-z_-], secret at least 4 of [A-Za-z0-9_.@%+=!~^*-])"
    ext="${BASH_REMATCH[1]}" secret="${BASH_REMATCH[2]}"
    [[ -z "${seen[$ext]:-}" ]] || die "HOTLINE_SIP_AGENTS: extension '$ext' is listed twice"
    seen[$ext]=1
    AGENTS+="	\$sht(agents=>$ext) = \"$secret\";
"
  done
fi
# Kamailio refuses a route with no statement: with no agent, say so.
[[ ${#seen[@]} -gt 0 ]] || AGENTS+="	xlog(\"L_WARN\", \"hotline: HOTLINE_SIP_AGENTS is empty: no agent can register\\n\");
"
AGENTS+="}
"

# --- render --------------------------------------------------------------------
sed -e "s|@SIP_ADDR@|$SIP_ADDR|g" \
    -e "s|@SIP_PORT@|$SIP_PORT|g" \
    -e "s|@RPC_ADDR@|$RPC_ADDR|g" \
    -e "s|@RPC_PORT@|$RPC_PORT|g" \
    -e "s|@CARRIER_ADDRS@|$CARRIER_CIDRS|g" \
    -e "s|@AGENT_NETS@|$AGENT_CIDRS|g" \
    -e "s|@PROBE_INTERVAL@|$PROBE_INTERVAL|g" \
    -e "s|@PROBE_FAILURES@|$PROBE_FAILURES|g" \
    -e "s|@NODE_TIMEOUT_MS@|$NODE_TIMEOUT|g" \
    -e "s|@CHILDREN@|$CHILDREN|g" \
    -e "s|@KEEPALIVE@|$KEEPALIVE|g" \
    -e "s|@KEEPALIVE_STEP@|$KEEPALIVE_STEP|g" \
    -e "s|@REALM@|hotline|g" \
    -e "s|@CONF_DIR@|$OUT|g" \
    "$TEMPLATE_DIR/kamailio.cfg" >"$OUT/kamailio.cfg.new"
if leftover="$(grep -o '@[A-Z][A-Z_]*[A-Z]@' "$OUT/kamailio.cfg.new" | sort -u | tr '\n' ' ')" && [[ -n "$leftover" ]]; then
  rm -f "$OUT/kamailio.cfg.new"
  die "unsubstituted placeholders: $leftover"
fi
mv -f "$OUT/kamailio.cfg.new" "$OUT/kamailio.cfg"
printf '%s' "$DLIST" >"$OUT/dispatcher.list"
( umask 077; printf '%s' "$AGENTS" >"$OUT/hotline-agents.cfg" )
chmod 600 "$OUT/hotline-agents.cfg"
echo "kamailio/render.sh: rendered $OUT (SIP udp:$SIP_ADDR:$SIP_PORT, RPC $RPC, nodes: ${!seen_node[*]}, carrier: $CARRIER_CIDRS, agent nets: $AGENT_CIDRS, agents: ${!seen[*]})" >&2
