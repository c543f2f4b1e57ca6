# shellcheck shell=bash
# mpxlab topology runtime: builds a .topo file into network namespaces joined by link
# emulators (bin/mpx-linkem), and tears it down again. Source this file:
#   mpx_topo_up FILE RUN SEED [--param P]... [--at "TIME ..."]... [--pcap-dir DIR] [--plain]
#               [--backend netns|mininet]   (mininet: emu/mininet/backend.sh, sourced on demand)
#   mpx_topo_down RUN                  kill the run's processes (by PID), delete its netns + state
#   mpx_topo_down_all [--force]        every run with state or with our marker (--force: every mpx-* netns)
#   mpx_topo_ns RUN NODE               node namespace name          (mpx-RUN-NODE)
#   mpx_topo_link_ns RUN LINK          link emulator namespace name (mpx-RUN-l-LINK)
#   mpx_topo_addr RUN NODE [IFACE] [4|6]   address without prefix length
#   mpx_topo_exec RUN NODE CMD...      run CMD inside the node's namespace
#   mpx_topo_ns_exec NS CMD...         the same by namespace name (ip netns exec / mnexec -a)
#   mpx_topo_ns_prefix NS              that command prefix, one word a line (keeps $! exact)
#   mpx_topo_link_pcap RUN LINK        path of the link's pcap
#   mpx_topo_link_stats RUN LINK       SIGUSR1 to the link's emulator, then its stats JSON
#   mpx_topo_state RUN                 the run's state directory
#   mpx_topo_show RUN                  Markdown summary
# State lives in $MPX_TOPO_STATE_BASE/RUN (default /run/mpxlab/RUN); layout in emu/README.md.
# All functions return 0 on success, 2 on usage/topology errors, 3 on setup errors.

_MPX_TOPO_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MPX_ROOT:=$(cd "$_MPX_TOPO_LIB_DIR/../.." && pwd)}"
: "${MPX_TOPO_STATE_BASE:=/run/mpxlab}"
# shellcheck source=emu/lib/topofile.sh
source "$_MPX_TOPO_LIB_DIR/topofile.sh"
# shellcheck source=emu/lib/middlebox.sh
source "$_MPX_TOPO_LIB_DIR/middlebox.sh"

MPX_TOPO_V4NET=198.18           # link i (1-based, file order) gets 198.18.i.0/24
MPX_TOPO_V6NET=fd00:6d70:78     # link i gets fd00:6d70:78:i::/64 ("mpx" in hex)
MPX_TOPO_MARK="mpxlab-topo"     # lo alias in every namespace we create: "mpxlab-topo RUN BASE"

mpx_topo_state() { echo "$MPX_TOPO_STATE_BASE/$1"; }
mpx_topo_ns() { echo "mpx-$1-$2"; }
mpx_topo_link_ns() { echo "mpx-$1-l-$2"; }
_mpx_topo_log() { [ -z "${MPX_TOPO_VERBOSE:-}" ] || echo "topo: $*" >&2; }
_mpx_topo_die() { echo "topo: $*" >&2; return 3; }
_mpx_topo_now_us() { local t; t=$EPOCHREALTIME; echo "${t/./}"; }

# _mpx_topo_linkem: the emulator binary (MPX_LINKEM overrides)
_mpx_topo_linkem() { echo "${MPX_LINKEM:-$MPX_ROOT/bin/mpx-linkem}"; }

# Backends: "netns" (default, plain namespaces) or "mininet" (Mininet hosts, emu/mininet/):
# only node/veth creation, exec and teardown differ. _MPX_TOPO_BACKEND is set by mpx_topo_up.
_mpx_topo_mn() { # loads the Mininet backend (bash; Python runs only when a run uses it)
  declare -F mpx_mn_add_ns >/dev/null || source "$MPX_ROOT/emu/mininet/backend.sh"
}
_mpx_topo_is_mn() { [ "${_MPX_TOPO_BACKEND:-netns}" = mininet ]; }
_mpx_topo_run_is_mn() { [ -d "$(mpx_topo_state "$1")/mn" ]; } # RUN

# Deterministic per-direction seed: CRC32 of "RUNSEED:LINK:DIR" (documented in emu/README.md)
mpx_topo_dir_seed() { printf 'mpxlab:%s:%s:%s' "$1" "$2" "$3" | cksum | cut -d' ' -f1; }

_mpx_topo_forwards() { # NODE: does it forward (router, proxy, middlebox or forward=1)?
  local n=$1
  if [ -n "${MPX_T_NOPT[$n.forward]:-}" ]; then [ "${MPX_T_NOPT[$n.forward]}" = 1 ]; return; fi
  case ${MPX_T_ROLE[$n]} in router|proxy|middlebox) return 0 ;; esac
  return 1
}
_mpx_topo_has6() { [ -n "${MPX_T_NOPT[$1.ipv6]:-}${MPX_T_NOPT[$1.ipv6only]:-}" ]; }
_mpx_topo_link_v4() { [ -z "${MPX_T_NOPT[${MPX_T_LA[$1]}.ipv6only]:-}${MPX_T_NOPT[${MPX_T_LB[$1]}.ipv6only]:-}" ]; }
_mpx_topo_link_v6() { _mpx_topo_has6 "${MPX_T_LA[$1]}" && _mpx_topo_has6 "${MPX_T_LB[$1]}"; }

# Fills the address maps for the parsed topology: _A4[node.if] _A6[node.if] _LIDX[link]
# _IFLINK[node.if] _PEER[node.if]=peer node, _PEERIF[node.if]
_mpx_topo_plan() {
  declare -gA _A4=() _A6=() _LIDX=() _IFLINK=() _PEER=() _PEERIF=()
  local i=0 l a b
  for l in "${MPX_T_LINKS[@]}"; do
    i=$((i + 1)); _LIDX[$l]=$i
    a=${MPX_T_LA[$l]}.${MPX_T_LAIF[$l]} b=${MPX_T_LB[$l]}.${MPX_T_LBIF[$l]}
    _IFLINK[$a]=$l _IFLINK[$b]=$l
    _PEER[$a]=${MPX_T_LB[$l]} _PEERIF[$a]=${MPX_T_LBIF[$l]}
    _PEER[$b]=${MPX_T_LA[$l]} _PEERIF[$b]=${MPX_T_LAIF[$l]}
    if _mpx_topo_link_v4 "$l"; then _A4[$a]=$MPX_TOPO_V4NET.$i.1 _A4[$b]=$MPX_TOPO_V4NET.$i.2; fi
    if _mpx_topo_link_v6 "$l"; then _A6[$a]=$MPX_TOPO_V6NET:$i::1 _A6[$b]=$MPX_TOPO_V6NET:$i::2; fi
  done
}

# _mpx_topo_sf_ifs NODE: the node's MPTCP subflow-endpoint interfaces: subflows=auto (the
# default) = on a host with several links every link after the first; subflows=IF,... = those
# (any role, e.g. a CPE proxy); off = none
_mpx_topo_sf_ifs() {
  local n=$1 v=${MPX_T_NOPT[$1.subflows]:-auto} ifs
  read -ra ifs <<< "${MPX_T_NIFS[$n]}"
  case $v in
    off) ;;
    auto) if [ "${MPX_T_ROLE[$n]}" = host ] && [ ${#ifs[@]} -gt 1 ]; then echo "${ifs[*]:1}"; fi ;;
    *) echo "${v//,/ }" ;;
  esac
}

# _mpx_topo_srctables NODE IF...: one source-routing table per interface (table 100+k, rule
# pref 1000+k, k = the interface's position on the node): subnet + default via that link's peer
_mpx_topo_srctables() {
  local n=$1 ifn key p k i t all x; shift
  read -ra all <<< "${MPX_T_NIFS[$n]}"
  for ifn; do
    k=0; for x in "${all[@]}"; do k=$((k + 1)); [ "$x" = "$ifn" ] && break; done
    key=$n.$ifn p=${_PEER[$key]}.${_PEERIF[$key]} t=$((100 + k)) i=${_LIDX[${_IFLINK[$key]}]}
    if [ -n "${_A4[$key]:-}" ]; then
      echo "route replace $MPX_TOPO_V4NET.$i.0/24 dev $ifn src ${_A4[$key]} table $t"
      echo "route replace default via ${_A4[$p]} dev $ifn table $t"
      echo "rule add from ${_A4[$key]} table $t pref $((1000 + k))"
    fi
    if [ -n "${_A6[$key]:-}" ]; then
      echo "-6 route replace $MPX_TOPO_V6NET:$i::/64 dev $ifn table $t"
      echo "-6 route replace default via ${_A6[$p]} dev $ifn table $t"
      echo "-6 rule add from ${_A6[$key]} table $t pref $((1000 + k))"
    fi
  done
}

# _mpx_topo_routes NODE: prints "ip" command lines (for ip -batch) with this node's routes.
# Non-forwarding nodes: default route via the peer of their first link (per family), and
# with several interfaces one source-routing table per interface (table 100+k, rule pref
# 1000+k) so traffic from that interface's address leaves through it (MPTCP subflows).
# Forwarding nodes: a route to every other link's subnet via the next hop of a shortest
# path (BFS that only passes through forwarding nodes), plus source tables for their
# subflow interfaces, if any.
_mpx_topo_routes() {
  local n=$1 ifs k=0 ifn key p
  read -ra ifs <<< "${MPX_T_NIFS[$n]}"
  [ ${#ifs[@]} -gt 0 ] || return 0
  if ! _mpx_topo_forwards "$n"; then
    local done4='' done6=''
    for ifn in "${ifs[@]}"; do
      key=$n.$ifn p=${_PEER[$key]}.${_PEERIF[$key]}
      if [ -z "$done4" ] && [ -n "${_A4[$key]:-}" ]; then echo "route replace default via ${_A4[$p]} dev $ifn"; done4=1; fi
      if [ -z "$done6" ] && [ -n "${_A6[$key]:-}" ]; then echo "-6 route replace default via ${_A6[$p]} dev $ifn"; done6=1; fi
    done
    if [ ${#ifs[@]} -gt 1 ]; then _mpx_topo_srctables "$n" "${ifs[@]}"; fi
    return 0
  fi
  # forwarding node with subflow endpoints (a CPE proxy): source tables for those interfaces
  local sfi
  sfi=$(_mpx_topo_sf_ifs "$n")
  # shellcheck disable=SC2086
  [ -z "$sfi" ] || _mpx_topo_srctables "$n" $sfi
  # BFS from n
  local -A dist=() fh=()
  local q=("$n") u v l x
  dist[$n]=0
  while [ ${#q[@]} -gt 0 ]; do
    u=${q[0]}; q=("${q[@]:1}")
    [ "$u" = "$n" ] || _mpx_topo_forwards "$u" || continue
    for x in ${MPX_T_NIFS[$u]}; do
      l=${_IFLINK[$u.$x]} v=${_PEER[$u.$x]}
      [ -z "${dist[$v]:-}" ] || continue
      dist[$v]=$((dist[$u] + 1))
      if [ "$u" = "$n" ]; then fh[$v]=$x; else fh[$v]=${fh[$u]}; fi
      q+=("$v")
    done
  done
  local a b c i viaif hop
  for l in "${MPX_T_LINKS[@]}"; do
    a=${MPX_T_LA[$l]} b=${MPX_T_LB[$l]}
    [ "$a" != "$n" ] && [ "$b" != "$n" ] || continue
    c=''
    if [ -n "${dist[$a]:-}" ]; then c=$a; fi
    if [ -n "${dist[$b]:-}" ] && { [ -z "$c" ] || [ "${dist[$b]}" -lt "${dist[$c]}" ]; }; then c=$b; fi
    [ -n "$c" ] || continue
    viaif=${fh[$c]} hop=${_PEER[$n.$viaif]}.${_PEERIF[$n.$viaif]} i=${_LIDX[$l]}
    if _mpx_topo_link_v4 "$l" && [ -n "${_A4[$hop]:-}" ]; then
      echo "route replace $MPX_TOPO_V4NET.$i.0/24 via ${_A4[$hop]} dev $viaif"; fi
    if _mpx_topo_link_v6 "$l" && [ -n "${_A6[$hop]:-}" ]; then
      echo "-6 route replace $MPX_TOPO_V6NET:$i::/64 via ${_A6[$hop]} dev $viaif"; fi
  done
}

# Role defaults for net.ipv4.tcp_fastopen (protocols.md §9): client 0x1 (TFO client with
# cookies; mpx-client asks for cookie-less SYN data per socket with TCP_FASTOPEN_NO_COOKIE,
# so the signals whose TFO mode is "cookie" and tcp --tfo still get real cookies),
# proxy/server 0x203 (server + accept SYN data without cookie).
# Overridden by the node option tfo=..., routers and middleboxes keep the kernel default.
_mpx_topo_tfo() {
  local n=$1
  if [ -n "${MPX_T_NOPT[$n.tfo]:-}" ]; then echo "$((MPX_T_NOPT[$n.tfo]))"; return; fi
  case ${MPX_T_ROLE[$n]} in host) echo 1 ;; proxy|server) echo $((0x203)) ;; esac
}

# _mpx_topo_sysctls NODE: "key=value" words for the node (before interfaces exist)
_mpx_topo_sysctls() {
  local n=$1 k tfo
  local s=(net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    "net.mptcp.enabled=${MPX_T_NOPT[$n.mptcp]:-1}")
  if _mpx_topo_forwards "$n"; then s+=(net.ipv4.ip_forward=1); fi
  if _mpx_topo_has6 "$n"; then
    s+=(net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
        net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0
        net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0)
    if _mpx_topo_forwards "$n"; then s+=(net.ipv6.conf.all.forwarding=1); fi
  else
    s+=(net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1)
  fi
  tfo=$(_mpx_topo_tfo "$n"); [ -z "$tfo" ] || s+=("net.ipv4.tcp_fastopen=$tfo")
  # MPTCP blackhole detection (Linux 6.12+): after one connection whose MP_CAPABLE SYNs were
  # lost and whose plain retransmission got through, active MPTCP is off for the whole
  # namespace for an hour, and every later MPTCP connection silently goes out as TCP. Under
  # random loss that is one unlucky connection deciding all the repetitions after it: off, so
  # each connection stands alone (a node option sysctl.net.mptcp.blackhole_timeout=... or an
  # .exp `sysctl` line turns it back on; the harness counts MPTcpExtMPCapableSYNTXDisabled).
  [ ! -e /proc/sys/net/mptcp/blackhole_timeout ] || s+=(net.mptcp.blackhole_timeout=0)
  for k in "${!MPX_T_NOPT[@]}"; do
    [[ $k == "$n".sysctl.* ]] && s+=("${k#"$n".sysctl.}=${MPX_T_NOPT[$k]}")
  done
  printf '%s\n' "${s[@]}"
}

# _mpx_topo_run CMD...: run, on failure print the command and its output, return 3
_mpx_topo_run() {
  local out
  if ! out=$("$@" 2>&1); then echo "topo: failed: $*" >&2; [ -z "$out" ] || echo "$out" | sed 's/^/  /' >&2; return 3; fi
}

_mpx_topo_add_ns() { # RUN NS: create a namespace, record it, mark it
  local run=$1 ns=$2 d
  if _mpx_topo_is_mn; then mpx_mn_add_ns "$run" "$ns"; return; fi
  d=$(mpx_topo_state "$run")
  [ ! -e "/run/netns/$ns" ] || _mpx_topo_die "namespace $ns already exists (another run? mpxlab topo down $run)" || return 3
  echo "$ns" >> "$d/netns"
  _mpx_topo_run ip netns add "$ns" || return 3
  _mpx_topo_run ip -n "$ns" link set lo alias "$MPX_TOPO_MARK $run $MPX_TOPO_STATE_BASE" || return 3
  _mpx_topo_run ip -n "$ns" link set lo up
}

_mpx_topo_offloads() { # NS IF...
  local ns=$1 ifn; shift
  for ifn; do
    # some keywords may be fixed on veth; the ones that matter (tso gso gro) are changeable
    ip netns exec "$ns" ethtool -K "$ifn" tso off gso off gro off tx off rx off >/dev/null 2>&1 ||
      _mpx_topo_run ip netns exec "$ns" ethtool -K "$ifn" tso off gso off gro off || return 3
  done
}

# _mpx_topo_build FILE RUN SEED PCAPDIR PLAIN: the body of mpx_topo_up (runs in a subshell
# whose traps tear a half-built run down)
_mpx_topo_build() {
  local file=$1 run=$2 seed=$3 pdir=$4 plain=$5 d n l ns lns
  d=$(mpx_topo_state "$run")
  _mpx_topo_plan
  {
    echo "run=$run"; echo "file=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
    echo "seed=$seed"; echo "plain=$plain"; echo "pcap_dir=$pdir"; echo "backend=${_MPX_TOPO_BACKEND:-netns}"
    echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } > "$d/meta"
  cp "$file" "$d/topo"
  mpx_topofile_dump > "$d/resolved"
  : > "$d/nodes"; : > "$d/addrs"; : > "$d/pids"; : > "$d/links"
  # 1. node namespaces + sysctls (before interfaces, so the "default" keys apply to them)
  for n in "${MPX_T_NODES[@]}"; do
    ns=$(mpx_topo_ns "$run" "$n")
    _mpx_topo_add_ns "$run" "$ns" || return 3
    echo "$n ${MPX_T_ROLE[$n]} $ns" >> "$d/nodes"
    mapfile -t sc < <(_mpx_topo_sysctls "$n")
    _mpx_topo_run ip netns exec "$ns" sysctl -q -w "${sc[@]}" || return 3
  done
  # 2. links: a link namespace with two veth pairs, offloads off, addresses, static neighbours
  local a b aif bif ns_a ns_b i mac_a mac_b
  for l in "${MPX_T_LINKS[@]}"; do
    a=${MPX_T_LA[$l]} b=${MPX_T_LB[$l]} aif=${MPX_T_LAIF[$l]} bif=${MPX_T_LBIF[$l]} i=${_LIDX[$l]}
    ns_a=$(mpx_topo_ns "$run" "$a") ns_b=$(mpx_topo_ns "$run" "$b") lns=$(mpx_topo_link_ns "$run" "$l")
    _mpx_topo_add_ns "$run" "$lns" || return 3
    _mpx_topo_run ip netns exec "$lns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 3
    if _mpx_topo_is_mn; then
      mpx_mn_link "$run" "$ns_a" "$aif" "$lns" a || return 3
      mpx_mn_link "$run" "$ns_b" "$bif" "$lns" b || return 3
    else
      _mpx_topo_run ip -n "$ns_a" link add name "$aif" type veth peer name a netns "$lns" || return 3
      _mpx_topo_run ip -n "$ns_b" link add name "$bif" type veth peer name b netns "$lns" || return 3
    fi
    _mpx_topo_offloads "$ns_a" "$aif" || return 3
    _mpx_topo_offloads "$ns_b" "$bif" || return 3
    _mpx_topo_offloads "$lns" a b || return 3
    _mpx_topo_run ip -n "$lns" link set dev a up || return 3
    _mpx_topo_run ip -n "$lns" link set dev b up || return 3
    _mpx_topo_run ip -n "$ns_a" link set dev "$aif" up || return 3
    _mpx_topo_run ip -n "$ns_b" link set dev "$bif" up || return 3
    mac_a=$(ip -n "$ns_a" -br link show dev "$aif" | awk '{print $3}')
    mac_b=$(ip -n "$ns_b" -br link show dev "$bif" | awk '{print $3}')
    [[ $mac_a =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ && $mac_b =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] ||
      _mpx_topo_die "link $l: cannot read the MAC addresses ('$mac_a', '$mac_b')" || return 3
    local x4 x6 ks
    for ks in "$a $aif $ns_a $b.$bif $mac_b" "$b $bif $ns_b $a.$aif $mac_a"; do
      local nn nif nns peer pmac
      read -r nn nif nns peer pmac <<< "$ks"
      x4=${_A4[$nn.$nif]:-} x6=${_A6[$nn.$nif]:-}
      if [ -n "$x4" ]; then
        _mpx_topo_run ip -n "$nns" addr add "$x4/24" dev "$nif" || return 3
        # permanent neighbour entries: no ARP/ND through the emulated link (clean pcaps,
        # no first-packet resolution delay)
        _mpx_topo_run ip -n "$nns" neigh replace "${_A4[$peer]}" lladdr "$pmac" dev "$nif" nud permanent || return 3
      fi
      if [ -n "$x6" ]; then
        _mpx_topo_run ip -n "$nns" -6 addr add "$x6/64" dev "$nif" nodad || return 3
        _mpx_topo_run ip -n "$nns" -6 neigh replace "${_A6[$peer]}" lladdr "$pmac" dev "$nif" nud permanent || return 3
      elif ! _mpx_topo_has6 "$nn"; then :; fi
      echo "$nn $nif ${x4:--} ${x6:--}" >> "$d/addrs"
    done
  done
  # 3. routes, MPTCP limits/endpoints, middlebox rules
  local nlinks=${#MPX_T_LINKS[@]} lim
  lim=$(( nlinks < 2 ? 2 : (nlinks > 8 ? 8 : nlinks) ))
  for n in "${MPX_T_NODES[@]}"; do
    ns=$(mpx_topo_ns "$run" "$n")
    local cmds
    cmds=$(_mpx_topo_routes "$n")
    # ip -batch takes no per-line family switch: one batch per family
    local c4 c6
    c4=$(grep -v '^-6 ' <<< "$cmds" || true) c6=$(sed -n 's/^-6 //p' <<< "$cmds")
    if [ -n "$c4" ]; then _mpx_topo_run ip -n "$ns" -batch - <<< "$c4" || return 3; fi
    if [ -n "$c6" ]; then _mpx_topo_run ip -6 -n "$ns" -batch - <<< "$c6" || return 3; fi
    [ "${MPX_T_NOPT[$n.mptcp]:-1}" = 0 ] && continue
    _mpx_topo_run ip -n "$ns" mptcp limits set subflow "$lim" add_addr_accepted "$lim" || return 3
    local ifs ifn
    read -ra ifs <<< "${MPX_T_NIFS[$n]}"
    # subflow endpoints (a host with several links: every link after the first)
    for ifn in $(_mpx_topo_sf_ifs "$n"); do
      [ -z "${_A4[$n.$ifn]:-}" ] || _mpx_topo_run ip -n "$ns" mptcp endpoint add "${_A4[$n.$ifn]}" dev "$ifn" subflow || return 3
      [ -z "${_A6[$n.$ifn]:-}" ] || _mpx_topo_run ip -n "$ns" mptcp endpoint add "${_A6[$n.$ifn]}" dev "$ifn" subflow || return 3
    done
    # "signal": announce every address but the first link's (ADD_ADDR) to MPTCP peers
    if [ -n "${MPX_T_NOPT[$n.signal]:-}" ] && [ ${#ifs[@]} -gt 1 ]; then
      for ifn in "${ifs[@]:1}"; do
        [ -z "${_A4[$n.$ifn]:-}" ] || _mpx_topo_run ip -n "$ns" mptcp endpoint add "${_A4[$n.$ifn]}" dev "$ifn" signal || return 3
        [ -z "${_A6[$n.$ifn]:-}" ] || _mpx_topo_run ip -n "$ns" mptcp endpoint add "${_A6[$n.$ifn]}" dev "$ifn" signal || return 3
      done
    fi
  done
  for n in "${MPX_T_NODES[@]}"; do
    [ "${MPX_T_ROLE[$n]}" = middlebox ] || continue
    local beh=() o
    for o in $MPX_T_MB_KEYS; do
      [ -z "${MPX_T_NOPT[$n.$o]:-}" ] && continue
      if [ "$o" = snat ]; then
        # plain "snat": masquerade towards every neighbour that is not a host (the network side)
        local sv=${MPX_T_NOPT[$n.snat]} x
        if [ "$sv" = 1 ]; then
          sv=''
          for x in ${MPX_T_NIFS[$n]}; do [ "${MPX_T_ROLE[${_PEER[$n.$x]}]}" = host ] || sv+="${sv:+,}$x"; done
        fi
        for x in ${sv//,/ }; do beh+=("snat=$x"); done
      elif [ "${MPX_T_NOPT[$n.$o]}" = 1 ]; then beh+=("$o"); else beh+=("$o=${MPX_T_NOPT[$n.$o]}"); fi
    done
    [ ${#beh[@]} = 0 ] || mpx_mb_apply "$(mpx_topo_ns "$run" "$n")" "${beh[@]}" || return 3
    echo "$n ${beh[*]}" >> "$d/middlebox"
  done
  # Mininet backend: measure each link's delay through a loss-free probe emulator (Mininet's
  # own delay knob silently does nothing on this kernel); fails the build if it is off
  if _mpx_topo_is_mn && [ "$plain" != 1 ]; then mpx_mn_probe_delays "$run" || return 3; fi
  # 4. link emulators, started last and together: schedule times count from here
  local linkem sa sb pids=() pcap
  linkem=$(_mpx_topo_linkem)
  [ "$plain" = 1 ] || [ -x "$linkem" ] || _mpx_topo_die "$linkem not built (make bin/mpx-linkem), or use --plain" || return 3
  _mpx_topo_now_us > "$d/t0"
  for l in "${MPX_T_LINKS[@]}"; do
    lns=$(mpx_topo_link_ns "$run" "$l") pcap=-
    if [ "$plain" = 1 ]; then
      # no emulation: a bridge joins the two ends (debugging, or before linkem existed)
      _mpx_topo_run ip -n "$lns" link add name br0 type bridge || return 3
      _mpx_topo_run ip -n "$lns" link set dev a master br0 || return 3
      _mpx_topo_run ip -n "$lns" link set dev b master br0 || return 3
      _mpx_topo_run ip -n "$lns" link set dev br0 up || return 3
      pids+=(-)
      continue
    fi
    _mpx_topo_write_spec "$l" "$seed" "$d/$l.spec"
    sa=$(sed -n "s/^ab //p" "$d/$l.spec") sb=$(sed -n "s/^ba //p" "$d/$l.spec")
    local args=(--if-a a --if-b b --ab "$sa" --ba "$sb" --name "$l" --ready "$d/$l.ready"
      --stats "$pdir/$l.stats.json" --events "$pdir/$l.events.jsonl" --quiet)
    if [ "${MPX_TOPO_PCAP:-1}" != 0 ]; then pcap=$pdir/$l.pcap; args+=(--pcap "$pcap"); fi
    mpx_topofile_schedule "$l" > "$d/$l.schedule"
    if [ -s "$d/$l.schedule" ]; then args+=(--schedule "$d/$l.schedule" --schedule-log "$pdir/$l.schedule.jsonl")
    else rm -f "$d/$l.schedule"; fi
    # own session: a Ctrl-C meant for the caller does not hit the emulators; they are ended
    # by PID from the pids file. setsid does not fork here (no job control => not a group
    # leader), so $! is the emulator's PID; checked below.
    setsid ip netns exec "$lns" "$linkem" "${args[@]}" < /dev/null >> "$d/$l.log" 2>&1 &
    local pid=$!
    echo "$pid linkem $l $lns" >> "$d/pids"
    pids+=("$pid")
    echo "$l $pcap" >> "$d/pcaps"
  done
  # 5. wait until every emulator has bound both interfaces
  local j=0 deadline
  deadline=$(( $(_mpx_topo_now_us) + ${MPX_TOPO_READY_TIMEOUT:-10} * 1000000 ))
  for l in "${MPX_T_LINKS[@]}"; do
    local pid=${pids[$j]} pc
    j=$((j + 1))
    [ "$pid" != - ] || continue
    until [ -s "$d/$l.ready" ]; do
      if ! kill -0 "$pid" 2>/dev/null; then
        _mpx_topo_die "link $l: mpx-linkem exited before ready: $(tail -n 5 "$d/$l.log" | tr '\n' ' ')"; return 3; fi
      [ "$(_mpx_topo_now_us)" -lt "$deadline" ] || { _mpx_topo_die "link $l: mpx-linkem not ready after ${MPX_TOPO_READY_TIMEOUT:-10} s"; return 3; }
      sleep 0.005
    done
    pc=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
    [[ $pc == *mpx-linkem* ]] || { _mpx_topo_die "link $l: PID $pid is not the emulator ($pc)"; return 3; }
  done
  j=0
  for l in "${MPX_T_LINKS[@]}"; do
    echo "$l ${MPX_T_LA[$l]} ${MPX_T_LAIF[$l]} ${MPX_T_LB[$l]} ${MPX_T_LBIF[$l]} ${pids[$j]} $(awk -v l="$l" '$1==l{print $2}' "$d/pcaps" 2>/dev/null | grep . || echo -)" >> "$d/links"
    j=$((j + 1))
  done
  echo up > "$d/status"
}

# mpx_topo_up FILE RUN SEED [--param P]... [--at "TIME ..."]... [--pcap-dir DIR] [--plain] [--backend B]
mpx_topo_up() {
  [ $# -ge 3 ] || { echo "usage: mpx_topo_up FILE RUN SEED [--param P]... [--at SPEC]... [--pcap-dir DIR] [--plain] [--backend netns|mininet]" >&2; return 2; }
  local file=$1 run=$2 seed=$3; shift 3
  local params=() ats=() pdir='' plain=0 _MPX_TOPO_BACKEND=netns
  while [ $# -gt 0 ]; do
    case $1 in
      --param) [ $# -ge 2 ] || { echo "topo: --param needs a value" >&2; return 2; }; params+=("$2"); shift 2 ;;
      --param=*) params+=("${1#*=}"); shift ;;
      --at) [ $# -ge 2 ] || { echo "topo: --at needs a value" >&2; return 2; }; ats+=("$2"); shift 2 ;;
      --pcap-dir) [ $# -ge 2 ] || { echo "topo: --pcap-dir needs a value" >&2; return 2; }; pdir=$2; shift 2 ;;
      --plain) plain=1; shift ;;
      --backend) [ $# -ge 2 ] || { echo "topo: --backend needs a value" >&2; return 2; }; _MPX_TOPO_BACKEND=$2; shift 2 ;;
      --backend=*) _MPX_TOPO_BACKEND=${1#*=}; shift ;;
      *) echo "topo: unknown option '$1'" >&2; return 2 ;;
    esac
  done
  [[ $run =~ ^[A-Za-z0-9_]{1,24}$ ]] || { echo "topo: bad run name '$run' (A-Z a-z 0-9 _, at most 24)" >&2; return 2; }
  mpx_seed "$seed" > /dev/null 2>&1 || { echo "topo: bad seed '$seed' (an integer 0..$MPX_SEED_MAX without leading zeros)" >&2; return 2; }
  [ "$(id -u)" = 0 ] || { echo "topo: needs root (network namespaces)" >&2; return 3; }
  case $_MPX_TOPO_BACKEND in
    netns) ;;
    mininet) _mpx_topo_mn || return 3
             local why; why=$(mpx_mn_check) || { echo "topo: backend mininet unavailable: $why" >&2; return 3; } ;;
    *) echo "topo: unknown backend '$_MPX_TOPO_BACKEND' (netns, mininet)" >&2; return 2 ;;
  esac
  # While the build subshell runs, this shell only notes INT/TERM (bash runs the trap once the
  # subshell has finished its own teardown); afterwards the caller's traps are restored and
  # the signal is re-raised, so a caller that dies on it still dies - after the cleanup.
  local old_traps got_sig='' rc=0
  old_traps=$(trap -p INT TERM)
  trap 'got_sig=${got_sig:-INT}' INT
  trap 'got_sig=${got_sig:-TERM}' TERM
  (
    # parse in the subshell: the caller's MPX_T_* globals stay untouched
    mpx_topofile_parse "$file" || exit 2
    for p in "${params[@]}"; do mpx_topofile_param "$p" || exit 2; done
    for p in "${ats[@]}"; do mpx_topofile_at "$p" || exit 2; done
    d=$(mpx_topo_state "$run")
    mkdir -p "$MPX_TOPO_STATE_BASE"
    mkdir "$d" 2>/dev/null || { echo "topo: run '$run' exists ($d); mpxlab topo down $run" >&2; exit 3; }
    # from here on, anything but success tears the half-built run down
    ok=0
    trap 'if [ $ok = 0 ]; then echo "topo: up failed, tearing $run down" >&2; mpx_topo_down "$run" >&2 || true; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if [ -z "$pdir" ]; then pdir=$d; else mkdir -p "$pdir" && pdir=$(cd "$pdir" && pwd) || exit 3; fi
    _mpx_topo_build "$file" "$run" "$seed" "$pdir" "$plain" || exit 3
    ok=1
  ) || rc=$?
  trap - INT TERM
  eval "$old_traps"
  if [ -n "$got_sig" ]; then kill -s "$got_sig" $$; fi
  return $rc
}

# _mpx_topo_is PID [EXPECT]: PID alive (and its command line contains EXPECT)
_mpx_topo_is() {
  local cmd
  [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 1 ] && _mpx_topo_alive "$1" || return 1
  [ -n "${2:-}" ] || return 0
  cmd=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$2"* ]]
}

# _mpx_topo_alive PID: running (a zombie counts as gone: the emulators are re-parented to
# init once `topo up` returns, and init may reap them only seconds later)
_mpx_topo_alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ "${st:0:1}" != Z ]
}

# _mpx_topo_kill PID [EXPECT]: TERM, wait up to 3 s, then KILL. With EXPECT, only a process
# whose command line contains EXPECT is signalled (guards against PID reuse).
_mpx_topo_kill() {
  local pid=$1 expect=${2:-} i
  _mpx_topo_is "$pid" "$expect" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do _mpx_topo_alive "$pid" || return 0; sleep 0.01; done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do _mpx_topo_alive "$pid" || return 0; sleep 0.01; done
}

# _mpx_topo_del_ns NS: end every process still inside NS (by PID), then delete it
_mpx_topo_del_ns() {
  local ns=$1 p pids
  [ -e "/run/netns/$ns" ] || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  if [ -n "$pids" ]; then
    local i; for ((i = 0; i < 200; i++)); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.01; done
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  ip netns del "$ns" 2>/dev/null || true
}

_mpx_topo_marked() { # NS -> prints the run name of our marker; fails if the namespace is not
  # ours or belongs to another state base (MPX_TOPO_STATE_BASE)
  local a run base
  a=$(ip -n "$1" -o link show lo 2>/dev/null) || return 1
  [[ $a == *"alias $MPX_TOPO_MARK "* ]] || return 1
  a=${a##*alias "$MPX_TOPO_MARK" }
  read -r run base _ <<< "$a"
  [ "$base" = "$MPX_TOPO_STATE_BASE" ] || return 1
  echo "$run"
}

# mpx_topo_down RUN: emulators first (TERM: they flush pcap + stats), then every namespace of
# the run (its processes ended by PID), then the state dir. Idempotent.
mpx_topo_down() {
  local run=$1 d ns pid rest all=()
  [[ $run =~ ^[A-Za-z0-9_]{1,24}$ ]] || { echo "topo: bad run name '$run'" >&2; return 2; }
  d=$(mpx_topo_state "$run")
  if [ -f "$d/pids" ]; then
    # TERM them all first, then wait: each emulator takes a moment to flush and exit
    local kp=()
    while read -r pid rest; do _mpx_topo_is "$pid" mpx-linkem && kill -TERM "$pid" 2>/dev/null && kp+=("$pid"); done < "$d/pids"
    for pid in "${kp[@]}"; do _mpx_topo_kill "$pid" mpx-linkem; done
  fi
  # Mininet backend: net.stop() inside its sandbox, then the sandbox ends (by PID); what it
  # held is checked once the namespaces are gone
  local inv=''
  if _mpx_topo_run_is_mn "$run"; then
    _mpx_topo_mn; inv=$(mpx_mn_inventory "$run"); mpx_mn_stop "$run"
  fi
  [ -f "$d/netns" ] && mapfile -t all < "$d/netns"
  # namespaces of this run that the state does not list (state lost or written late)
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns == "mpx-$run-"* ]] || continue
    [ "$(_mpx_topo_marked "$ns")" = "$run" ] && all+=("$ns")
  done
  for ns in "${all[@]}"; do _mpx_topo_del_ns "$ns"; done
  rm -rf "$d"
  local left=0
  for ns in "${all[@]}"; do [ ! -e "/run/netns/$ns" ] || { echo "topo: $ns still exists" >&2; left=1; }; done
  if [ -n "$inv" ]; then
    local lo
    lo=$(mpx_mn_leftovers <(echo "$inv")) || { echo "$lo" | sed 's/^/topo: left over: /' >&2; left=1; }
  fi
  return $left
}

# mpx_topo_down_all [--force]: every run with state, every namespace carrying our marker;
# --force also every other namespace named mpx-* (other tools of the project)
mpx_topo_down_all() {
  local force=0 r ns rc=0
  [ "${1:-}" = --force ] && force=1
  if [ -d "$MPX_TOPO_STATE_BASE" ]; then
    for r in "$MPX_TOPO_STATE_BASE"/*/; do
      [ -d "$r" ] || continue
      r=$(basename "$r"); echo "down $r"; mpx_topo_down "$r" || rc=1
    done
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns == mpx-* ]] || continue
    if _mpx_topo_marked "$ns" >/dev/null || [ $force = 1 ]; then echo "delete $ns"; _mpx_topo_del_ns "$ns"; fi
  done
  return $rc
}

_mpx_topo_need() { # RUN: the run must exist
  [ -f "$(mpx_topo_state "$1")/nodes" ] || { echo "topo: no run '$1' (state $(mpx_topo_state "$1") missing)" >&2; return 2; }
}

mpx_topo_nodes() { _mpx_topo_need "$1" || return 2; awk '{print $1}' "$(mpx_topo_state "$1")/nodes"; }
mpx_topo_links() { _mpx_topo_need "$1" || return 2; awk '{print $1}' "$(mpx_topo_state "$1")/links"; }

# mpx_topo_addr RUN NODE [IFACE] [4|6]: without IFACE the node's first interface that has an
# address of that family
mpx_topo_addr() {
  local run=$1 node=$2 ifn=${3:-} fam=${4:-4} col a
  _mpx_topo_need "$run" || return 2
  if [ "$ifn" = 4 ] || [ "$ifn" = 6 ]; then fam=$ifn ifn=''; fi
  case $fam in 4) col=3 ;; 6) col=4 ;; *) echo "topo: family must be 4 or 6" >&2; return 2 ;; esac
  a=$(awk -v n="$node" -v i="$ifn" -v c="$col" '$1==n && (i=="" || $2==i) && $c!="-" {print $c; exit}' \
      "$(mpx_topo_state "$run")/addrs")
  [ -n "$a" ] || { echo "topo: no IPv$fam address for $node${ifn:+ $ifn} in run $run" >&2; return 1; }
  echo "$a"
}

mpx_topo_exec() {
  local run=$1 node=$2 ns; shift 2
  _mpx_topo_need "$run" || return 2
  awk -v n="$node" '$1==n{f=1} END{exit !f}' "$(mpx_topo_state "$run")/nodes" ||
    { echo "topo: run $run has no node '$node' ($(mpx_topo_nodes "$run" | tr '\n' ' '))" >&2; return 2; }
  ns=$(mpx_topo_ns "$run" "$node")
  # Mininet hosts are entered the Mininet way (mnexec -a PID, like its `m` utility)
  if _mpx_topo_run_is_mn "$run"; then _mpx_topo_mn; mpx_mn_exec "$run" "$node" "$@"; return; fi
  ip netns exec "$ns" "$@"
}

# mpx_topo_ns_exec NS CMD...: like `ip netns exec NS CMD...` for a namespace of any run; a
# Mininet host is entered the Mininet way (mnexec -a), anything else with ip netns exec
mpx_topo_ns_exec() {
  local ns=$1 run pid; shift
  run=${ns#mpx-}; run=${run%%-*}
  if [[ $ns == mpx-* ]] && _mpx_topo_run_is_mn "$run"; then
    _mpx_topo_mn
    if pid=$(mpx_mn_pid "$run" "$ns" 2>/dev/null); then mnexec -a "$pid" env -C "$PWD" "$@"; return; fi
  fi
  ip netns exec "$ns" "$@"
}

# mpx_topo_ns_prefix NS: the command prefix of mpx_topo_ns_exec, one word a line, for callers
# that need $! to be the command itself (every word execs the next):
#   mapfile -t pre < <(mpx_topo_ns_prefix "$ns"); "${pre[@]}" timeout 60 mpx-server ... &
mpx_topo_ns_prefix() {
  local ns=$1 run pid
  run=${ns#mpx-}; run=${run%%-*}
  if [[ $ns == mpx-* ]] && _mpx_topo_run_is_mn "$run"; then
    _mpx_topo_mn
    if pid=$(mpx_mn_pid "$run" "$ns" 2>/dev/null); then printf '%s\n' mnexec -a "$pid" env -C "$PWD"; return; fi
  fi
  printf '%s\n' ip netns exec "$ns"
}

_mpx_topo_linkfield() { # RUN LINK COLUMN
  _mpx_topo_need "$1" || return 2
  local v
  v=$(awk -v l="$2" -v c="$3" '$1==l{print $c}' "$(mpx_topo_state "$1")/links")
  [ -n "$v" ] || { echo "topo: run $1 has no link '$2'" >&2; return 2; }
  echo "$v"
}
mpx_topo_link_pid() { _mpx_topo_linkfield "$1" "$2" 6; }
mpx_topo_link_pcap() { _mpx_topo_linkfield "$1" "$2" 7; }

# mpx_topo_link_stats RUN LINK: asks the emulator for fresh counters (SIGUSR1) and prints them
mpx_topo_link_stats() {
  local run=$1 l=$2 pid f before i
  pid=$(mpx_topo_link_pid "$run" "$l") || return 2
  f="$(sed -n 's/^pcap_dir=//p' "$(mpx_topo_state "$run")/meta")/$l.stats.json"
  before=$(stat -c '%.9Y %s %i' "$f" 2>/dev/null || echo none)
  kill -USR1 "$pid" 2>/dev/null || { echo "topo: link $l emulator (PID $pid) is not running" >&2; [ -s "$f" ] && cat "$f"; return 3; }
  for ((i = 0; i < 200; i++)); do
    [ -s "$f" ] && [ "$(stat -c '%.9Y %s %i' "$f" 2>/dev/null)" != "$before" ] && break
    sleep 0.01
  done
  sleep 0.01
  cat "$f"
}

# mpx_topo_middlebox RUN NODE BEHAVIOUR...: add middlebox behaviours to a running node
mpx_topo_middlebox() {
  local run=$1 node=$2; shift 2
  _mpx_topo_need "$run" || return 2
  mpx_mb_apply "$(mpx_topo_ns "$run" "$node")" "$@"
}

mpx_topo_show() {
  local run=$1 d n r ns l
  _mpx_topo_need "$run" || return 2
  d=$(mpx_topo_state "$run")
  echo "# run $run"
  echo
  sed -n 's/^\(file\|seed\|created\|plain\|backend\)=\(.*\)/- \1: \2/p' "$d/meta"
  echo "- state: $d"
  echo
  echo "| node | role | netns | iface | IPv4 | IPv6 |"
  echo "|---|---|---|---|---|---|"
  while read -r n r ns; do
    awk -v n="$n" -v r="$r" -v ns="$ns" '$1==n{printf "| %s | %s | %s | %s | %s | %s |\n", n, r, ns, $2, $3, $4; f=1}
      END{if(!f) printf "| %s | %s | %s | - | - | - |\n", n, r, ns}' "$d/addrs"
  done < "$d/nodes"
  echo
  echo "| link | a | b | linkem PID | a->b | b->a |"
  echo "|---|---|---|---|---|---|"
  local a aif b bif pid pcap st
  while read -r l a aif b bif pid pcap; do
    st=''; [ "$pid" = - ] || kill -0 "$pid" 2>/dev/null || st=' (dead)'
    printf '| %s | %s:%s | %s:%s | %s%s | %s | %s |\n' "$l" "$a" "$aif" "$b" "$bif" "$pid" "$st" \
      "$(sed -n 's/^ab //p' "$d/$l.spec" 2>/dev/null)" "$(sed -n 's/^ba //p' "$d/$l.spec" 2>/dev/null)"
  done < "$d/links"
  if ls "$d"/*.schedule >/dev/null 2>&1; then
    echo; echo "Schedule (from the emulators' start, epoch us $(cat "$d/t0")):"
    for l in "$d"/*.schedule; do sed "s/^/- $(basename "$l" .schedule): /" "$l"; done
  fi
  [ ! -s "$d/middlebox" ] || { echo; echo "Middlebox behaviours:"; sed 's/^/- /' "$d/middlebox"; }
  [ ! -s "$d/mn/delays" ] || { echo; echo "Mininet hosts; link delays measured at setup (probe emulator, no loss):"; sed 's/^/- /' "$d/mn/delays"; }
}

# _mpx_topo_write_spec LINK SEED FILE: both directions' mpx-linkem SPEC ("ab ..."/"ba ..."),
# each with its deterministic seed unless the topology fixed one
_mpx_topo_write_spec() {
  local l=$1 seed=$2 f=$3 sa sb
  sa=$(mpx_topofile_spec "$l" ab) sb=$(mpx_topofile_spec "$l" ba)
  [[ " $sa" == *" seed="* ]] || sa+="${sa:+ }seed=$(mpx_topo_dir_seed "$seed" "$l" ab)"
  [[ " $sb" == *" seed="* ]] || sb+="${sb:+ }seed=$(mpx_topo_dir_seed "$seed" "$l" ba)"
  printf 'ab %s\nba %s\n' "$sa" "$sb" > "$f"
}

# mpx_topo_resolve FILE SEED DIR [--param P]...: what mpx_topo_up would build, as files and
# nothing else (no namespace, no root): DIR/topology.resolved, DIR/addrs ("node if v4 v6"),
# DIR/links.txt ("link a a-if b b-if") and DIR/LINK.spec with the seeds mpx_topo_up gives the
# link emulators. The simulator (sim/) runs on these.
mpx_topo_resolve() {
  [ $# -ge 3 ] || { echo "usage: mpx_topo_resolve FILE SEED DIR [--param P]..." >&2; return 2; }
  local file=$1 seed=$2 dir=$3; shift 3
  local params=()
  while [ $# -gt 0 ]; do
    case $1 in
      --param) [ $# -ge 2 ] || { echo "topo: --param needs a value" >&2; return 2; }; params+=("$2"); shift 2 ;;
      *) echo "topo: unknown option '$1'" >&2; return 2 ;;
    esac
  done
  mpx_seed "$seed" > /dev/null 2>&1 || { echo "topo: bad seed '$seed' (an integer 0..$MPX_SEED_MAX without leading zeros)" >&2; return 2; }
  mkdir -p "$dir" || return 3
  (
    mpx_topofile_parse "$file" || exit 2
    for p in "${params[@]}"; do mpx_topofile_param "$p" || exit 2; done
    _mpx_topo_plan
    # every direction's seed (mpx_topo_dir_seed's value) from one cksum over all the strings,
    # one output line per input in order, instead of one cksum per direction; this subshell's
    # mpx_topo_dir_seed reads them back (_mpx_topo_write_spec)
    local -A seeds=()
    local subs='' keys=() l k q crc _
    for l in "${MPX_T_LINKS[@]}"; do
      for k in ab ba; do
        keys+=("$seed:$l:$k"); printf -v q %q "mpxlab:$seed:$l:$k"; subs+=" <(printf %s $q)"
      done
    done
    if [ ${#keys[@]} -gt 0 ]; then
      k=0
      while read -r crc _; do seeds[${keys[k]}]=$crc; k=$((k + 1)); done < <(eval "cksum $subs")
      [ "$k" = ${#keys[@]} ] && mpx_topo_dir_seed() { echo "${seeds[$1:$2:$3]}"; }
    fi
    mpx_topofile_dump > "$dir/topology.resolved"
    : > "$dir/addrs"; : > "$dir/links.txt"
    local a b aif bif
    for l in "${MPX_T_LINKS[@]}"; do
      a=${MPX_T_LA[$l]} b=${MPX_T_LB[$l]} aif=${MPX_T_LAIF[$l]} bif=${MPX_T_LBIF[$l]}
      echo "$a $aif ${_A4[$a.$aif]:--} ${_A6[$a.$aif]:--}" >> "$dir/addrs"
      echo "$b $bif ${_A4[$b.$bif]:--} ${_A6[$b.$bif]:--}" >> "$dir/addrs"
      echo "$l $a $aif $b $bif" >> "$dir/links.txt"
      _mpx_topo_write_spec "$l" "$seed" "$dir/$l.spec"
    done
  )
}
