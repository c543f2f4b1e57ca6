# shellcheck shell=bash
# agents/cpe/cpe.sh: the LAN-side plumbing of a CPE (proxy/proxy, agents/cpe/README.md). It
# sends the LAN hosts' TCP connections to chosen destination ports into the CPE's transparent
# listeners (mpx-proxy --cpe PORT=SIGNAL, or any IP_TRANSPARENT listener such as
# mpx-proxy --transparent), keyed by the destination port: SERVERPORT -> CPEPORT.
#
#   source agents/cpe/cpe.sh
#   mpx_cpe_up   NS [DIR] SERVERPORT:CPEPORT...   installs it in netns NS
#   mpx_cpe_down NS                               removes exactly what mpx_cpe_up created
#   mpx_cpe_show NS                               prints the table, rules and route (dumps)
# (DIR is accepted and ignored: the first draft of the interface passed a state directory;
# everything lives in objects of its own, so down needs nothing recorded.)
#
# What up creates, all inside NS:
#   nft table inet mpx_cpe, chain pre (prerouting, priority mangle):
#     - packets of connections the CPE already holds (an IP_TRANSPARENT socket, listener or
#       request socket or established, matches them: `socket transparent 1`) get the routing
#       mark, so they are delivered locally although addressed to the server;
#     - new TCP connections from the LAN interfaces to a mapped destination port:
#       `tproxy to :tcp dport map @ports` + the routing mark (map: SERVERPORT : CPEPORT);
#       every other port is left alone (routed: the direct LAN -> server baseline)
#   ip -4 rule fwmark MARK/MARK lookup TABLE pref PREF, ip -4 route local 0.0.0.0/0 dev lo
#   table TABLE; the same for IPv6 when the namespace has IPv6
#
# Tunables (environment, read at call time):
#   MPX_CPE_IFACES    LAN interfaces of the CPE (default "lan1 lan2", hybrid-cpe.topo)
#   MPX_CPE_MARK      routing mark (0x1)
#   MPX_CPE_RT_TABLE  routing table with the local default route (100; the topology's
#                     source-routing tables are 101.. on the CPE)
#   MPX_CPE_RULE_PREF ip rule priority (100: before the source rules, 1001..)
# Exit status: 0 ok, 2 usage, 3 setup error (message on stderr; up removes what it made).

_mpx_cpe_defaults() {
  : "${MPX_CPE_IFACES:=lan1 lan2}" "${MPX_CPE_MARK:=0x1}" "${MPX_CPE_RT_TABLE:=100}"
  : "${MPX_CPE_RULE_PREF:=100}"
}

_mpx_cpe_ns() { timeout 10 ip netns exec "$@"; }

_mpx_cpe_has6() { # ns: IPv6 on in the namespace (some topologies disable it)
  [ "$(_mpx_cpe_ns "$1" sysctl -n net.ipv6.conf.lo.disable_ipv6 2>/dev/null)" = 0 ]
}

_mpx_cpe_port() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

mpx_cpe_up() { # ns [dir] serverport:cpeport...
  local ns=${1:-} m i ifs='' elems='' map sp cp err
  _mpx_cpe_defaults
  [ $# -ge 2 ] || { echo "usage: mpx_cpe_up NS [DIR] SERVERPORT:CPEPORT..." >&2; return 2; }
  shift
  [[ $1 == *:* ]] || shift   # the optional DIR
  [ $# -ge 1 ] || { echo "mpx_cpe_up: no SERVERPORT:CPEPORT given" >&2; return 2; }
  for map; do
    sp=${map%%:*} cp=${map#*:}
    if [[ $map != *:* ]] || ! _mpx_cpe_port "$sp" || ! _mpx_cpe_port "$cp"; then
      echo "mpx_cpe_up: bad port map '$map' (want SERVERPORT:CPEPORT, ports 1..65535)" >&2
      return 2
    fi
    [[ " $elems " != *" $sp : "* ]] ||
      { echo "mpx_cpe_up: server port $sp mapped twice" >&2; return 2; }
    elems+="${elems:+, }$sp : $cp"
  done
  _mpx_cpe_ns "$ns" true 2>/dev/null || { echo "mpx_cpe_up: no network namespace '$ns'" >&2; return 3; }
  for i in $MPX_CPE_IFACES; do
    _mpx_cpe_ns "$ns" ip link show dev "$i" >/dev/null 2>&1 ||
      { echo "mpx_cpe_up: no interface '$i' in $ns (MPX_CPE_IFACES='$MPX_CPE_IFACES')" >&2; return 3; }
    ifs+="${ifs:+, }\"$i\""
  done
  m=$MPX_CPE_MARK
  if ! err=$(_mpx_cpe_ns "$ns" nft -f - 2>&1 <<EOF
table inet mpx_cpe {
  map ports {
    type inet_service : inet_service
    elements = { $elems }
  }
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    iifname { $ifs } meta l4proto tcp socket transparent 1 meta mark set meta mark | $m accept
    iifname { $ifs } meta l4proto tcp tcp flags & (fin|syn|rst|ack) == syn tproxy to :tcp dport map @ports meta mark set meta mark | $m accept
  }
}
EOF
  ); then
    echo "mpx_cpe_up: nft in $ns failed: $err" >&2
    mpx_cpe_down "$ns"
    return 3
  fi
  local fam any
  for fam in 4 6; do
    any=0.0.0.0/0
    if [ $fam = 6 ]; then _mpx_cpe_has6 "$ns" || continue; any=::/0; fi
    if ! err=$(_mpx_cpe_ns "$ns" ip -"$fam" rule add fwmark "$m/$m" lookup "$MPX_CPE_RT_TABLE" \
                 pref "$MPX_CPE_RULE_PREF" 2>&1) ||
       ! err=$(_mpx_cpe_ns "$ns" ip -"$fam" route add local "$any" dev lo table "$MPX_CPE_RT_TABLE" 2>&1); then
      echo "mpx_cpe_up: IPv$fam policy routing in $ns failed: $err" >&2
      mpx_cpe_down "$ns"
      return 3
    fi
  done
  return 0
}

mpx_cpe_down() { # ns
  local ns=${1:-} fam any
  _mpx_cpe_defaults
  [ -n "$ns" ] || { echo "usage: mpx_cpe_down NS" >&2; return 2; }
  _mpx_cpe_ns "$ns" true 2>/dev/null || return 0   # namespace already gone
  _mpx_cpe_ns "$ns" nft delete table inet mpx_cpe 2>/dev/null
  for fam in 4 6; do
    any=0.0.0.0/0; [ $fam = 6 ] && any=::/0
    # only the rule and route up made: same priority, mark, table; same route
    _mpx_cpe_ns "$ns" ip -$fam rule del fwmark "$MPX_CPE_MARK/$MPX_CPE_MARK" \
      lookup "$MPX_CPE_RT_TABLE" pref "$MPX_CPE_RULE_PREF" 2>/dev/null
    _mpx_cpe_ns "$ns" ip -$fam route del local "$any" dev lo table "$MPX_CPE_RT_TABLE" 2>/dev/null
  done
  return 0
}

mpx_cpe_show() { # ns
  _mpx_cpe_defaults
  _mpx_cpe_ns "$1" nft list table inet mpx_cpe 2>&1
  _mpx_cpe_ns "$1" ip -4 rule show pref "$MPX_CPE_RULE_PREF" 2>&1
  _mpx_cpe_ns "$1" ip -4 route show table "$MPX_CPE_RT_TABLE" 2>&1
  if _mpx_cpe_has6 "$1"; then
    _mpx_cpe_ns "$1" ip -6 rule show pref "$MPX_CPE_RULE_PREF" 2>&1
    _mpx_cpe_ns "$1" ip -6 route show table "$MPX_CPE_RT_TABLE" 2>&1
  fi
  return 0
}
