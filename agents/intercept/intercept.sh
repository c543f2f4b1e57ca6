# shellcheck shell=bash
# agents/intercept/intercept.sh: sets up (and tears down) the HAG side and the client side of
# the signals that need on-path interception or the SYN option helper
# (agents/intercept/README.md). It knows interception modes, not signals: each signal's mode is
# the `intercept` field of its registry row (`mpx-wire signals --json`).
#
#   source agents/intercept/intercept.sh
#   mpx_ic_hag_up    NS MODE DIR      HAG interception in MODE in netns NS (state in DIR)
#   mpx_ic_hag_down  NS DIR           removes rules/routes, stops the HAG's mpx-optd
#   mpx_ic_hag_base_up / _base_down NS DIR
#                                     the join listeners and the local route once for many
#                                     hag_up/hag_down in DIR (which then leave them alone)
#   mpx_ic_client_up NS DIR           client: mpx-optd add + iptables mangle/POSTROUTING NFQUEUE
#                                     (SYNs) and mangle/PREROUTING NFQUEUE (SYN/ACKs)
#   mpx_ic_client_down NS DIR
#   mpx_ic_client_register DIR MODE ADDR PORT
#                                     per-destination registration with the client's optd:
#                                     ra -> "ra dst ADDR PORT",
#                                     prefer -> "opt dst ADDR PORT <MP_PREFER_PROXY>"
#   mpx_ic_ctl CTLPATH REQUEST...     one control request to an mpx-optd (prints the reply)
#   mpx_ic_hag_ctl DIR / mpx_ic_client_ctl DIR   print the control socket paths
#
# MODE (HAG side):
#   all              every MPTCP SYN (MP_CAPABLE and MP_JOIN) arriving on a client-facing
#                    interface -> nft tproxy to the proxy's transparent port
#   ra               only SYNs with the IPv4 Router Alert option (nft `ip option ra exists`)
#   prefer           only SYNs mpx-optd (read mode) marked: MP_PREFER_PROXY in an MP_CAPABLE
#                    SYN, and the MP_JOINs of the connections taken that way (by token: the
#                    proxy's SYN/ACKs are queued to mpx-optd too)
#   prefer253        only SYNs carrying MP_PREFER_PROXY in the kind-253 ExID form written
#                    by the BPF sock_ops program (agents/optd/bpf), matched by nft directly (no
#                    NFQUEUE on either side); that program adds it to the MP_JOINs as well
#   optd-read        no interception: mpx-optd (read) decodes MP_CONVERT in SYNs to the
#                    proxy's option front-end port (MPX_IC_OPTPORT) and answers the proxy's
#                    `get ADDR PORT` lookups
#   none             nothing (plain forwarding; for baselines)
# Later packets of intercepted connections: the tproxy rule set a conntrack mark on the SYN;
# `ct mark` -> routing mark, in a table of its own (inet mpx_ic_est) that lives as long as the
# local route, not the mode: a mode switched off after a connection must not cut that
# connection's last packets (its FIN, DATA_FIN) off to the server. (Not `socket transparent 1`:
# that also matches the wildcard join listeners, so a native flow to such a port would be
# pulled in, and with `socket wildcard 0` it misses the third ACK, whose socket is a request
# socket.)
#
# Tunables (environment, read at call time):
#   MPX_IC_IFACES   client-facing HAG interfaces (default "dsl lte")
#   MPX_IC_TPORT    proxy transparent port (5127)      MPX_IC_OPTPORT option front-end port (5128)
#   MPX_IC_MARK     routing mark for tproxy'd packets (0x1)
#   MPX_IC_MARK_ALERT  mark mpx-optd read sets on MP_PREFER_PROXY SYNs (0x2)
#   MPX_IC_RT_TABLE routing table with the `local` default route (127)
#   MPX_IC_QUEUE    NFQUEUE number (7; queues are per network namespace)
#   MPX_IC_SUBTYPE  MPTCP subtype of the experimental options (0xe)
#   MPX_IC_OPTD     mpx-optd binary (default bin/mpx-optd of this checkout)
#   MPX_IC_WIRE     mpx-wire binary, the option encoder (default bin/mpx-wire)
#   MPX_IC_JOIN_PORTS  destination ports of intercepted connections ("8080 8081"): the HAG
#                   holds IP_TRANSPARENT MPTCP listeners there for their MP_JOINs (mpx-optd
#                   listen; README "Why joins keep their port")
#   MPX_IC_LIFE     upper bound on an mpx-optd's lifetime in seconds (3600; `timeout`)
#   MPX_IC_EARLY_DEMUX  off (default): net.ipv4.tcp_early_demux=0 on the HAG while tproxy modes
#                   are up (restored after; see _mpx_ic_demux_off); keep: leave it
# Everything is created inside NS (nft table inet mpx_ic, iptables chain MPX_IC, ip rule
# with priority 127); processes are tracked by PID files in DIR and stopped by PID.

MPX_IC_ROOT=${MPX_IC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

_mpx_ic_defaults() {
  : "${MPX_IC_IFACES:=dsl lte}" "${MPX_IC_TPORT:=5127}" "${MPX_IC_OPTPORT:=5128}"
  : "${MPX_IC_MARK:=0x1}" "${MPX_IC_MARK_ALERT:=0x2}" "${MPX_IC_RT_TABLE:=127}"
  : "${MPX_IC_QUEUE:=7}" "${MPX_IC_SUBTYPE:=0xe}" "${MPX_IC_LIFE:=3600}"
  : "${MPX_IC_JOIN_PORTS=8080 8081}"
  : "${MPX_IC_OPTD:=$MPX_IC_ROOT/bin/mpx-optd}" "${MPX_IC_WIRE:=$MPX_IC_ROOT/bin/mpx-wire}"
}

# A unix socket path holds at most 107 bytes and mpx-proxy binds its reply sockets at the
# control path + 16 bytes: a long results path (a long run or variant name) moves the socket to
# /run/mpxlab-ic, named by a checksum of DIR (the same for every caller, distinct per DIR).
_mpx_ic_ctl_path() { # dir role
  local p=$1/optd-$2.ctl h
  if [ ${#p} -gt 80 ]; then
    h=$(printf %s "$1" | cksum) && mkdir -p /run/mpxlab-ic && p=/run/mpxlab-ic/${h%% *}-$2.ctl
  fi
  echo "$p"
}
mpx_ic_hag_ctl() { _mpx_ic_ctl_path "$1" hag; }
mpx_ic_client_ctl() { _mpx_ic_ctl_path "$1" client; }

mpx_ic_ctl() { # ctlpath request...
  _mpx_ic_defaults
  timeout 5 "$MPX_IC_OPTD" ctl "$@"
}

# MP_PREFER_PROXY (plain-mode -10 4) as hex option bytes, from the one encoder (mpx-wire)
mpx_ic_prefer_hex() {
  _mpx_ic_defaults
  timeout 5 "$MPX_IC_WIRE" encode option prefer --subtype "$MPX_IC_SUBTYPE"
}

# the kind-253 form's bytes after kind and length (ExID, subtype, reserved) as an nft number
_mpx_ic_prefer253_nft() {
  local h
  h=$(timeout 5 "$MPX_IC_WIRE" encode option prefer --exp253 --subtype "$MPX_IC_SUBTYPE") || return 1
  h=${h//[^0-9a-fA-F]/}
  [ ${#h} = 12 ] || { echo "mpx_ic: unexpected kind-253 MP_PREFER_PROXY '$h'" >&2; return 1; }
  echo "0x${h:4}"
}

# Starts mpx-optd MODE in NS; PID in DIR/optd-ROLE.pid. Extra args are passed to mpx-optd.
_mpx_ic_optd_start() { # ns role mode dir args...
  local ns=$1 role=$2 mode=$3 dir=$4 i; shift 4
  local ready=$dir/optd-$role.ready ctl
  ctl=$(_mpx_ic_ctl_path "$dir" "$role")
  rm -f "$ready"
  if [ "$mode" = listen ]; then
    ip netns exec "$ns" timeout -s TERM "$MPX_IC_LIFE" "$MPX_IC_OPTD" listen --ready "$ready" \
      --stats "$dir/optd-$role.stats" "$@" >"$dir/optd-$role.log" 2>&1 &
  else
    ip netns exec "$ns" timeout -s TERM "$MPX_IC_LIFE" "$MPX_IC_OPTD" "$mode" \
      --queue "$MPX_IC_QUEUE" --subtype "$MPX_IC_SUBTYPE" --control "$ctl" --ready "$ready" \
      --stats "$dir/optd-$role.stats" "$@" >"$dir/optd-$role.log" 2>&1 &
  fi
  echo $! >"$dir/optd-$role.pid"
  local pid=$!
  for ((i = 0; i < 1000; i++)); do
    [ -s "$ready" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  echo "mpx_ic: mpx-optd $mode in $ns did not become ready:" >&2
  cat "$dir/optd-$role.log" >&2
  return 1
}

_mpx_ic_optd_stop() { # dir role
  local pf=$1/optd-$2.pid p i
  [ -f "$pf" ] || return 0
  read -r p < "$pf"
  if kill -TERM "$p" 2>/dev/null; then
    for ((i = 0; i < 300; i++)); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.01
    done
    kill -KILL "$p" 2>/dev/null
  fi
  wait "$p" 2>/dev/null
  rm -f "$pf"
  return 0
}

# iptables chain CHAIN (default MPX_IC) in TABLE, hooked from HOOK, for both families.
_mpx_ic_ipt_chain() { # ns table hook [chain]
  local t c=${4:-MPX_IC}
  for t in iptables ip6tables; do
    ip netns exec "$1" "$t" -w -t "$2" -N "$c" || return 1
    ip netns exec "$1" "$t" -w -t "$2" -A "$3" -j "$c" || return 1
  done
}

_mpx_ic_ipt_del() { # ns table hook [chain]
  local t c=${4:-MPX_IC}
  for t in iptables ip6tables; do
    ip netns exec "$1" "$t" -w -t "$2" -D "$3" -j "$c" 2>/dev/null
    ip netns exec "$1" "$t" -w -t "$2" -F "$c" 2>/dev/null
    ip netns exec "$1" "$t" -w -t "$2" -X "$c" 2>/dev/null
  done
  return 0
}

_mpx_ic_ipt_both() { # ns table rule... (appended to MPX_IC, or to $MPX_IC_CHAIN)
  local ns=$1 tb=$2; shift 2
  ip netns exec "$ns" iptables -w -t "$tb" -A "${MPX_IC_CHAIN:-MPX_IC}" "$@" &&
    ip netns exec "$ns" ip6tables -w -t "$tb" -A "${MPX_IC_CHAIN:-MPX_IC}" "$@"
}

# _mpx_ic_mode_match MODE: the nft match that selects a mode's SYNs (empty for all)
_mpx_ic_mode_match() {
  case $1 in
    all) ;;
    ra) echo 'ip option ra exists' ;;
    prefer) echo "meta mark & $MPX_IC_MARK_ALERT == $MPX_IC_MARK_ALERT" ;;
    # MP_PREFER_PROXY in its kind-253 form (agents/optd/bpf: FD 06 4D 50 E0 00), matched by
    # nft itself: ExID + subtype byte + reserved byte; the BPF client puts it in joins too
    prefer253) local v; v=$(_mpx_ic_prefer253_nft) || return 1; echo "tcp option @253,16,32 $v" ;;
    *) return 2 ;;
  esac
}

# _mpx_ic_tproxy_rules MODE MATCH: the prerouting rules (one per line) that take a mode's SYNs
_mpx_ic_tproxy_rules() {
  local mode=$1 match=$2 ifs='' i fam np lo m=$MPX_IC_MARK
  for i in $MPX_IC_IFACES; do ifs+="${ifs:+, }\"$i\""; done
  local syn="iifname { $ifs } tcp flags & (fin|syn|rst|ack) == syn tcp option mptcp exists"
  for fam in ip ip6; do
    [ "$mode" = ra ] && [ $fam = ip6 ] && continue   # Router Alert is IPv4 only here
    np=ipv4 lo=127.0.0.1; [ $fam = ip6 ] && np=ipv6 lo='[::1]'
    # MP_JOINs keep their destination port: the kernel rejects a join arriving on a listener
    # whose port differs from the connection's (MPTcpExtMismatchPortSynRx), and a tproxied
    # connection's port is the original destination port. So the joins need an IP_TRANSPARENT
    # MPTCP listener on that port (any one: the token finds the connection).
    echo "meta nfproto $np $syn tcp option mptcp subtype 1 $match meta mark set meta mark | $m ct mark set ct mark | $m tproxy $fam to $lo accept"
    echo "meta nfproto $np $syn $match meta mark set meta mark | $m ct mark set ct mark | $m tproxy $fam to :$MPX_IC_TPORT accept"
  done
}

mpx_ic_hag_up() { # ns mode dir
  local ns=$1 mode=$2 dir=$3 match=''
  _mpx_ic_defaults
  [ -d "$dir" ] || mkdir -p "$dir" || return 1
  echo "$mode" >"$dir/hag.mode"
  case $mode in
    none) return 0 ;;
    optd-read)
      _mpx_ic_ipt_chain "$ns" raw PREROUTING || return 1
      _mpx_ic_ipt_both "$ns" raw -p tcp --tcp-flags SYN,ACK,FIN,RST SYN --dport "$MPX_IC_OPTPORT" \
        -j NFQUEUE --queue-num "$MPX_IC_QUEUE" --queue-bypass || return 1
      _mpx_ic_optd_start "$ns" hag read "$dir" || return 1
      return 0 ;;
  esac
  match=$(_mpx_ic_mode_match "$mode") ||
    { echo "mpx_ic_hag_up: unknown mode '$mode' (all, ra, prefer, prefer253, optd-read, none)" >&2; return 2; }
  if [ "$mode" = prefer ]; then
    local i
    # raw (-300) runs before the nft tproxy chain (mangle, -150): the verdict's mark is seen there
    _mpx_ic_ipt_chain "$ns" raw PREROUTING || return 1
    for i in $MPX_IC_IFACES; do
      _mpx_ic_ipt_both "$ns" raw -i "$i" -p tcp --tcp-flags SYN,ACK,FIN,RST SYN \
        -j NFQUEUE --queue-num "$MPX_IC_QUEUE" --queue-bypass || return 1
    done
    # the proxy's own SYN/ACKs: mpx-optd learns the token of each connection it took, so it
    # marks exactly those connections' MP_JOINs
    _mpx_ic_ipt_chain "$ns" mangle OUTPUT || return 1
    _mpx_ic_ipt_both "$ns" mangle -p tcp --tcp-flags SYN,ACK,FIN,RST SYN,ACK \
      -j NFQUEUE --queue-num "$MPX_IC_QUEUE" --queue-bypass || return 1
    _mpx_ic_optd_start "$ns" hag read "$dir" --mark-prefer "$MPX_IC_MARK_ALERT" || return 1
  fi
  # the join listeners and the local route: here, unless mpx_ic_hag_base_up holds them
  local base=0 rules
  [ -f "$dir/hag.base" ] && base=1
  [ $base = 1 ] || _mpx_ic_joins_up "$ns" "$dir" || return 1
  rules=$(_mpx_ic_tproxy_rules "$mode" "$match" | sed 's/^/    /')
  ip netns exec "$ns" nft -f - <<EOF || return 1
table inet mpx_ic {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
$rules
  }
}
EOF
  [ $base = 1 ] || _mpx_ic_route_up "$ns" "$dir"
}

_mpx_ic_joins_up() { # ns dir
  [ -n "$MPX_IC_JOIN_PORTS" ] || return 0
  local jp=() i
  for i in $MPX_IC_JOIN_PORTS; do jp+=(--port "$i"); done
  _mpx_ic_optd_start "$1" joins listen "$2" "${jp[@]}"
}

# An intercepted connection's HAG side is an IP_TRANSPARENT socket under the server's address,
# and the proxy closes first, so its TIME_WAIT (60 s) is the HAG's. TCP early demux attaches it
# to any later packet with that 4-tuple, and ip_forward drops a packet that carries a socket: a
# plain connection that reuses the client's port (it closed passively, the port is free at
# once) is black-holed until the TIME_WAIT ends (docs/kernel-findings.md 7). Without early
# demux the route decides: forwarded, or the local route for what the tproxy rules marked.
# MPX_IC_EARLY_DEMUX=keep leaves the kernel's setting (the reproducer's control).
_mpx_ic_demux_off() { # ns dir
  [ "${MPX_IC_EARLY_DEMUX:-off}" = keep ] && return 0
  local old
  old=$(ip netns exec "$1" sysctl -n net.ipv4.tcp_early_demux) || return 1
  [ -f "$2/hag.early_demux" ] || echo "$old" > "$2/hag.early_demux"
  ip netns exec "$1" sysctl -qw net.ipv4.tcp_early_demux=0
}
_mpx_ic_demux_restore() { # ns dir
  [ -f "$2/hag.early_demux" ] || return 0
  ip netns exec "$1" sysctl -qw net.ipv4.tcp_early_demux="$(cat "$2/hag.early_demux")" 2>/dev/null
  rm -f "$2/hag.early_demux"
}

# fwmark MPX_IC_MARK -> a table whose default route is local (the tproxy'd packets' way in)
_mpx_ic_route_up() { # ns dir
  local ns=$1 m=$MPX_IC_MARK
  _mpx_ic_demux_off "$ns" "$2" || return 1
  ip netns exec "$ns" ip -4 rule add fwmark "$m/$m" lookup "$MPX_IC_RT_TABLE" pref 127 || return 1
  ip netns exec "$ns" ip -4 route add local 0.0.0.0/0 dev lo table "$MPX_IC_RT_TABLE" || return 1
  # before the modes' chain (mangle): what a mode took stays taken after the mode is off
  ip netns exec "$ns" nft -f - <<EOF || return 1
table inet mpx_ic_est {
  chain est {
    type filter hook prerouting priority mangle - 1; policy accept;
    ct mark & $m == $m meta mark set meta mark | $m
  }
}
EOF
  # IPv6 only where the namespace has it (some topologies disable it)
  if [ "$(ip netns exec "$ns" sysctl -n net.ipv6.conf.lo.disable_ipv6 2>/dev/null)" = 0 ]; then
    ip netns exec "$ns" ip -6 rule add fwmark "$m/$m" lookup "$MPX_IC_RT_TABLE" pref 127 || return 1
    ip netns exec "$ns" ip -6 route add local ::/0 dev lo table "$MPX_IC_RT_TABLE" || return 1
  fi
  return 0
}

mpx_ic_hag_down() { # ns dir
  local ns=$1 dir=$2 mode=''
  _mpx_ic_defaults
  _mpx_ic_optd_stop "$dir" hag
  [ -f "$dir/hag.base" ] || _mpx_ic_optd_stop "$dir" joins
  ip netns exec "$ns" true 2>/dev/null || return 0   # namespace already gone
  ip netns exec "$ns" nft delete table inet mpx_ic 2>/dev/null
  # only what the mode created (each command costs a process, and the harness runs this after
  # every intercepted connection); an unknown mode: everything
  [ -f "$dir/hag.mode" ] && read -r mode < "$dir/hag.mode"
  case $mode in all|ra|prefer253|none) ;; optd-read) _mpx_ic_ipt_del "$ns" raw PREROUTING ;; *)
    _mpx_ic_ipt_del "$ns" raw PREROUTING
    _mpx_ic_ipt_del "$ns" mangle OUTPUT ;;
  esac
  case $mode in optd-read|none) return 0 ;; esac
  [ -f "$dir/hag.base" ] || _mpx_ic_route_down "$ns" "$dir"
  return 0
}

_mpx_ic_route_down() { # ns dir
  local ns=$1
  _mpx_ic_demux_restore "$ns" "$2"
  ip netns exec "$ns" nft delete table inet mpx_ic_est 2>/dev/null
  ip netns exec "$ns" ip -4 rule del pref 127 2>/dev/null
  ip netns exec "$ns" ip -6 rule del pref 127 2>/dev/null
  ip netns exec "$ns" ip -4 route flush table "$MPX_IC_RT_TABLE" 2>/dev/null
  ip netns exec "$ns" ip -6 route flush table "$MPX_IC_RT_TABLE" 2>/dev/null
  return 0
}

# The part every tproxy mode shares (the MP_JOIN listeners of MPX_IC_JOIN_PORTS, the fwmark ->
# local route), set up once for many mpx_ic_hag_up/_down in DIR (the harness: per variant), which
# then leave it alone. Inert while no mode's rules are up: only packets those rules mark take the
# local route, and the transparent listeners receive nothing else.
mpx_ic_hag_base_up() { # ns dir
  _mpx_ic_defaults
  mkdir -p "$2" || return 1
  _mpx_ic_joins_up "$1" "$2" && _mpx_ic_route_up "$1" "$2" && : > "$2/hag.base"
}

mpx_ic_hag_base_down() { # ns dir
  _mpx_ic_defaults
  [ -f "$2/hag.base" ] || return 0
  rm -f "$2/hag.base"
  _mpx_ic_optd_stop "$2" joins
  ip netns exec "$1" true 2>/dev/null || return 0
  _mpx_ic_route_down "$1" "$2"
}

mpx_ic_client_up() { # ns dir
  local ns=$1 dir=$2
  _mpx_ic_defaults
  mkdir -p "$dir" || return 1
  _mpx_ic_ipt_chain "$ns" mangle POSTROUTING || return 1
  _mpx_ic_ipt_both "$ns" mangle -p tcp --tcp-flags SYN,ACK,FIN,RST SYN \
    -j NFQUEUE --queue-num "$MPX_IC_QUEUE" --queue-bypass || return 1
  # incoming SYN/ACKs: mpx-optd learns the tokens of Router-Alert connections registered by
  # source port and marks their MP_JOINs as well. Only MPTCP SYN/ACKs (option 30): a queued
  # SYN/ACK is overtaken by the data right behind it (a TFO server answers at once), which
  # the kernel drops in SYN-SENT; plain TCP reference connections then waited ~60 ms for
  # the retransmission.
  _mpx_ic_ipt_chain "$ns" mangle PREROUTING MPX_ICIN || return 1
  MPX_IC_CHAIN=MPX_ICIN _mpx_ic_ipt_both "$ns" mangle -p tcp --tcp-flags SYN,ACK,FIN,RST SYN,ACK --tcp-option 30 \
    -j NFQUEUE --queue-num "$MPX_IC_QUEUE" --queue-bypass || return 1
  _mpx_ic_optd_start "$ns" client add "$dir" || return 1
}

mpx_ic_client_down() { # ns dir
  _mpx_ic_defaults
  _mpx_ic_optd_stop "$2" client
  ip netns exec "$1" true 2>/dev/null || return 0
  _mpx_ic_ipt_del "$1" mangle POSTROUTING
  _mpx_ic_ipt_del "$1" mangle PREROUTING MPX_ICIN
  return 0
}

mpx_ic_client_register() { # dir mode addr port
  local ctl hex; ctl=$(mpx_ic_client_ctl "$1")
  case $2 in
    ra) mpx_ic_ctl "$ctl" ra dst "$3" "$4" ;;
    prefer) hex=$(mpx_ic_prefer_hex) || return 1; mpx_ic_ctl "$ctl" opt dst "$3" "$4" "$hex" ;;
    all|none) echo ok ;;
    *) echo "mpx_ic_client_register: no per-destination registration for '$2'" >&2; return 2 ;;
  esac
}

# Armed interception: for a caller that switches modes around many connections (the harness:
# on before and off after every intercepted one), what the modes can share is set up once and
# a mode is switched on and off by one nft transaction each, so a caller that keeps one `nft -i`
# in NS (the harness does) starts no process per switch.
#   mpx_ic_hag_arm NS DIR MODE...  the base (join listeners, local route), table inet mpx_ic
#                                  with empty chains, and for prefer / optd-read one mpx-optd
#                                  read (--mark-prefer when prefer is among the MODEs) plus
#                                  iptables NFQUEUE rules (nft has no `queue` on this kernel)
#                                  that take only packets carrying the gate mark
#                                  MPX_IC_MARK_GATE (0x4), which only a mode's own nft rules set
#   mpx_ic_hag_on MODE             prints the nft commands (one line) that switch MODE on: the
#                                  same matches and verdicts as mpx_ic_hag_up
#   mpx_ic_hag_off                 prints the nft commands that switch any mode off
#   mpx_ic_hag_nft NS LINE         applies such a line with a process of its own
#   mpx_ic_hag_disarm NS DIR
mpx_ic_hag_arm() { # ns dir mode...
  local ns=$1 dir=$2 m q=0 pre=0; shift 2
  _mpx_ic_defaults
  : "${MPX_IC_MARK_GATE:=0x4}"
  mpx_ic_hag_base_up "$ns" "$dir" || return 1
  for m; do
    case $m in prefer) q=1 pre=1 ;; optd-read) q=1 ;; all|ra|prefer253|none) ;;
      *) echo "mpx_ic_hag_arm: unknown mode '$m'" >&2; return 2 ;; esac
  done
  ip netns exec "$ns" nft -f - <<EOT || return 1
table inet mpx_ic {
  chain gate { type filter hook prerouting priority -350; policy accept; }
  chain ogate { type filter hook output priority -350; policy accept; }
  chain pre { type filter hook prerouting priority mangle; policy accept; }
}
EOT
  : > "$dir/hag.armed"
  [ $q = 1 ] || return 0
  echo 1 > "$dir/hag.armed"
  local g="-m mark --mark $MPX_IC_MARK_GATE/$MPX_IC_MARK_GATE"
  # shellcheck disable=SC2086
  { _mpx_ic_ipt_chain "$ns" raw PREROUTING &&
    _mpx_ic_ipt_both "$ns" raw $g -j NFQUEUE --queue-num "$MPX_IC_QUEUE" --queue-bypass &&
    _mpx_ic_ipt_chain "$ns" mangle OUTPUT &&
    _mpx_ic_ipt_both "$ns" mangle $g -j NFQUEUE --queue-num "$MPX_IC_QUEUE" --queue-bypass; } || return 1
  if [ $pre = 1 ]; then _mpx_ic_optd_start "$ns" hag read "$dir" --mark-prefer "$MPX_IC_MARK_ALERT" || return 1
  else _mpx_ic_optd_start "$ns" hag read "$dir" || return 1; fi
}

mpx_ic_hag_on() { # mode
  local mode=$1 ifs='' i match='' out='' t='inet mpx_ic' r
  _mpx_ic_defaults
  : "${MPX_IC_MARK_GATE:=0x4}"
  local tsyn="tcp flags & (fin|syn|rst|ack) ==" gm="meta mark set meta mark | $MPX_IC_MARK_GATE"
  case $mode in
    none) return 0 ;;
    prefer)
      for i in $MPX_IC_IFACES; do ifs+="${ifs:+, }\"$i\""; done
      out="add rule $t gate iifname { $ifs } $tsyn syn $gm; add rule $t ogate $tsyn syn|ack $gm; " ;;
    optd-read) echo "add rule $t gate $tsyn syn tcp dport $MPX_IC_OPTPORT $gm"; return 0 ;;
  esac
  match=$(_mpx_ic_mode_match "$mode") || { echo "mpx_ic_hag_on: unknown mode '$mode'" >&2; return 2; }
  while IFS= read -r r; do out+="add rule $t pre $r; "; done < <(_mpx_ic_tproxy_rules "$mode" "$match")
  echo "${out%; }"
}

mpx_ic_hag_off() { echo "flush chain inet mpx_ic gate; flush chain inet mpx_ic ogate; flush chain inet mpx_ic pre"; }

mpx_ic_hag_nft() { ip netns exec "$1" nft "$2"; } # ns line

mpx_ic_hag_disarm() { # ns dir
  local ns=$1 dir=$2 q=''
  _mpx_ic_defaults
  [ -f "$dir/hag.armed" ] || return 0
  read -r q < "$dir/hag.armed"; rm -f "$dir/hag.armed"
  _mpx_ic_optd_stop "$dir" hag
  if ip netns exec "$ns" true 2>/dev/null; then
    ip netns exec "$ns" nft delete table inet mpx_ic 2>/dev/null
    if [ "$q" = 1 ]; then _mpx_ic_ipt_del "$ns" raw PREROUTING; _mpx_ic_ipt_del "$ns" mangle OUTPUT; fi
  fi
  mpx_ic_hag_base_down "$ns" "$dir"
}
