# shellcheck shell=bash
# tests/lib-netns.sh: a small client -- hag -- server namespace triple on plain veths, for the
# agents' integration tests (no link emulation; the harness uses emu/ topologies later).
#
#   client ==dsl== hag --wan-- server        (the client also has a second link: ==lte==)
#
# Usage (the API below is stable; other helpers' tests source this file):
#   source tests/lib-netns.sh
#   trap mpx_nt_down EXIT INT TERM
#   mpx_nt_up TAG                     builds the triple; namespaces mpx-TAG-<pid>-{client,hag,server}
#   mpx_nt_exec NODE CMD...           runs CMD in NODE (client|hag|server)
#   mpx_nt_ns NODE                    prints NODE's netns name
#   mpx_nt_bg NODE LOG CMD...         starts CMD in NODE in the background (stdout+stderr to LOG),
#                                     records its PID (killed by mpx_nt_down); sets MPX_NT_LASTPID
#   mpx_nt_wait_file FILE [SEC]       polls until FILE exists and is non-empty (default 10 s)
#   mpx_nt_kill PID                   TERM (then KILL after 3 s) one process started by mpx_nt_bg
#   mpx_nt_dump                       ip addr/route/mptcp, ss, nstat of every node (for failure logs)
#   mpx_nt_down                       kills the recorded PIDs, deletes the namespaces and MPX_NT_DIR
#
# Variables set by mpx_nt_up:
#   MPX_NT_CLIENT MPX_NT_HAG MPX_NT_SERVER   netns names
#   MPX_NT_DIR                               scratch directory for logs/ready files (removed by
#                                            mpx_nt_down unless MPX_NT_KEEP=1)
# Address variables (set when the file is sourced; fixed, only inside the namespaces):
#   IPv4 (198.18.0.0/15)                 IPv6 (ULA fd00::/8)
#   MPX_NT_C_DSL4  198.18.1.1/24         MPX_NT_C_DSL6  fd00:18:1::1/64     client, iface dsl
#   MPX_NT_H_DSL4  198.18.1.254          MPX_NT_H_DSL6  fd00:18:1::254      hag, iface dsl
#   MPX_NT_C_LTE4  198.18.2.1            MPX_NT_C_LTE6  fd00:18:2::1        client, iface lte
#   MPX_NT_H_LTE4  198.18.2.254          MPX_NT_H_LTE6  fd00:18:2::254      hag, iface lte
#   MPX_NT_H_WAN4  198.18.3.254          MPX_NT_H_WAN6  fd00:18:3::254      hag, iface wan
#   MPX_NT_S4      198.18.3.1            MPX_NT_S6      fd00:18:3::1        server, iface wan
#   (all prefixes are /24 and /64; variables hold bare addresses without the prefix length)
#
# Routing: client default route via dsl (first subflow over dsl), source-routed table 102 for
# the lte address; the hag forwards (IPv4 and IPv6); the server's default route points at the
# hag. MPTCP: `ip mptcp limits set subflow 2 add_addr_accepted 2` on client and hag, and a
# `subflow` endpoint for the client's lte addresses (v4 and v6), so MPTCP connections from the
# client get a second subflow over lte.
# Sysctls (per namespace): net.mptcp.enabled=1 everywhere; net.ipv4.tcp_fastopen =
#   client $MPX_NT_TFO_CLIENT (default 0x1: client TFO; the cookie-less 0x4 is set per socket by
#   mpx-client with TCP_FASTOPEN_NO_COOKIE so the cookie modes still work),
#   hag    $MPX_NT_TFO_HAG    (default 0x3: client+server; listeners add TCP_FASTOPEN_NO_COOKIE),
#   server $MPX_NT_TFO_SERVER (default 0x3).
# Override them by setting the variable before mpx_nt_up (decimal or 0x hex).

MPX_NT_C_DSL4=198.18.1.1;   MPX_NT_H_DSL4=198.18.1.254
MPX_NT_C_LTE4=198.18.2.1;   MPX_NT_H_LTE4=198.18.2.254
MPX_NT_H_WAN4=198.18.3.254; MPX_NT_S4=198.18.3.1
MPX_NT_C_DSL6=fd00:18:1::1;   MPX_NT_H_DSL6=fd00:18:1::254
MPX_NT_C_LTE6=fd00:18:2::1;   MPX_NT_H_LTE6=fd00:18:2::254
MPX_NT_H_WAN6=fd00:18:3::254; MPX_NT_S6=fd00:18:3::1
: "${MPX_NT_TFO_CLIENT:=0x1}" "${MPX_NT_TFO_HAG:=0x3}" "${MPX_NT_TFO_SERVER:=0x3}"
MPX_NT_CLIENT='' MPX_NT_HAG='' MPX_NT_SERVER='' MPX_NT_DIR='' MPX_NT_LASTPID=''
MPX_NT_PIDS=()

mpx_nt_ns() {
  case $1 in
    client) echo "$MPX_NT_CLIENT" ;; hag) echo "$MPX_NT_HAG" ;; server) echo "$MPX_NT_SERVER" ;;
    *) echo "mpx_nt_ns: unknown node '$1'" >&2; return 2 ;;
  esac
}

mpx_nt_exec() {
  local ns; ns=$(mpx_nt_ns "$1") || return 2; shift
  ip netns exec "$ns" "$@"
}

# Sets a sysctl in a namespace; values like 0x203 are converted because sysctl wants decimal.
_mpx_nt_sysctl() { # node key value
  local v=$3
  [[ $v == 0x* ]] && v=$((v))
  mpx_nt_exec "$1" sysctl -qw "$2=$v"
}

mpx_nt_up() {
  local tag=${1:-nt}
  [ "$(id -u)" = 0 ] || { echo "mpx_nt_up: needs root" >&2; return 3; }
  local pfx="mpx-$tag-$$"
  MPX_NT_CLIENT=$pfx-client MPX_NT_HAG=$pfx-hag MPX_NT_SERVER=$pfx-server
  MPX_NT_DIR=$(mktemp -d "/tmp/mpx-$tag-$$.XXXXXX")
  if ! _mpx_nt_build; then
    echo "mpx_nt_up: setup failed" >&2
    mpx_nt_down
    return 3
  fi
}

_mpx_nt_build() {
  local n
  for n in client hag server; do ip netns add "$(mpx_nt_ns $n)" || return 1; done
  # veths are created directly inside the namespaces (no name clash in the root namespace)
  ip link add dsl netns "$MPX_NT_CLIENT" type veth peer name dsl netns "$MPX_NT_HAG" || return 1
  ip link add lte netns "$MPX_NT_CLIENT" type veth peer name lte netns "$MPX_NT_HAG" || return 1
  ip link add wan netns "$MPX_NT_HAG" type veth peer name wan netns "$MPX_NT_SERVER" || return 1
  for n in client hag server; do
    mpx_nt_exec $n ip link set lo up || return 1
    _mpx_nt_sysctl $n net.ipv6.conf.all.accept_dad 0 || return 1
    _mpx_nt_sysctl $n net.ipv6.conf.default.accept_dad 0 || return 1
    _mpx_nt_sysctl $n net.ipv4.conf.all.rp_filter 0 || return 1
    _mpx_nt_sysctl $n net.ipv4.conf.default.rp_filter 0 || return 1
    _mpx_nt_sysctl $n net.mptcp.enabled 1 || return 1
  done
  _mpx_nt_sysctl client net.ipv4.tcp_fastopen "$MPX_NT_TFO_CLIENT" || return 1
  _mpx_nt_sysctl hag net.ipv4.tcp_fastopen "$MPX_NT_TFO_HAG" || return 1
  _mpx_nt_sysctl server net.ipv4.tcp_fastopen "$MPX_NT_TFO_SERVER" || return 1
  _mpx_nt_sysctl hag net.ipv4.ip_forward 1 || return 1
  _mpx_nt_sysctl hag net.ipv6.conf.all.forwarding 1 || return 1

  mpx_nt_exec client ip addr add "$MPX_NT_C_DSL4/24" dev dsl || return 1
  mpx_nt_exec client ip addr add "$MPX_NT_C_DSL6/64" dev dsl nodad || return 1
  mpx_nt_exec client ip addr add "$MPX_NT_C_LTE4/24" dev lte || return 1
  mpx_nt_exec client ip addr add "$MPX_NT_C_LTE6/64" dev lte nodad || return 1
  mpx_nt_exec hag ip addr add "$MPX_NT_H_DSL4/24" dev dsl || return 1
  mpx_nt_exec hag ip addr add "$MPX_NT_H_DSL6/64" dev dsl nodad || return 1
  mpx_nt_exec hag ip addr add "$MPX_NT_H_LTE4/24" dev lte || return 1
  mpx_nt_exec hag ip addr add "$MPX_NT_H_LTE6/64" dev lte nodad || return 1
  mpx_nt_exec hag ip addr add "$MPX_NT_H_WAN4/24" dev wan || return 1
  mpx_nt_exec hag ip addr add "$MPX_NT_H_WAN6/64" dev wan nodad || return 1
  mpx_nt_exec server ip addr add "$MPX_NT_S4/24" dev wan || return 1
  mpx_nt_exec server ip addr add "$MPX_NT_S6/64" dev wan nodad || return 1
  mpx_nt_exec client ip link set dsl up || return 1
  mpx_nt_exec client ip link set lte up || return 1
  mpx_nt_exec hag ip link set dsl up || return 1
  mpx_nt_exec hag ip link set lte up || return 1
  mpx_nt_exec hag ip link set wan up || return 1
  mpx_nt_exec server ip link set wan up || return 1

  # client: default over dsl; lte-sourced packets use table 102 (per-interface source routing)
  mpx_nt_exec client ip route add default via "$MPX_NT_H_DSL4" dev dsl || return 1
  mpx_nt_exec client ip -6 route add default via "$MPX_NT_H_DSL6" dev dsl || return 1
  mpx_nt_exec client ip route add default via "$MPX_NT_H_LTE4" dev lte table 102 || return 1
  mpx_nt_exec client ip -6 route add default via "$MPX_NT_H_LTE6" dev lte table 102 || return 1
  mpx_nt_exec client ip rule add from "$MPX_NT_C_LTE4" table 102 || return 1
  mpx_nt_exec client ip -6 rule add from "$MPX_NT_C_LTE6" table 102 || return 1
  mpx_nt_exec server ip route add default via "$MPX_NT_H_WAN4" dev wan || return 1
  mpx_nt_exec server ip -6 route add default via "$MPX_NT_H_WAN6" dev wan || return 1

  mpx_nt_exec client ip mptcp limits set subflow 2 add_addr_accepted 2 || return 1
  mpx_nt_exec hag ip mptcp limits set subflow 2 add_addr_accepted 2 || return 1
  mpx_nt_exec client ip mptcp endpoint add "$MPX_NT_C_LTE4" dev lte subflow || return 1
  mpx_nt_exec client ip mptcp endpoint add "$MPX_NT_C_LTE6" dev lte subflow || return 1

  # nodad addresses are usable at once; still wait until the v6 routes resolve (max ~2 s)
  local i
  for i in $(seq 1 40); do
    mpx_nt_exec client ping -c1 -W1 -q "$MPX_NT_S4" >/dev/null 2>&1 &&
      mpx_nt_exec client ping -6 -c1 -W1 -q "$MPX_NT_S6" >/dev/null 2>&1 && break
    sleep 0.05
  done
  return 0
}

mpx_nt_bg() { # node log cmd...
  local node=$1 log=$2 ns; shift 2
  ns=$(mpx_nt_ns "$node") || return 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  MPX_NT_LASTPID=$!
  MPX_NT_PIDS+=("$MPX_NT_LASTPID")
}

mpx_nt_wait_file() { # file [sec]
  local f=$1 t=${2:-10} i
  for ((i = 0; i < t * 20; i++)); do
    [ -s "$f" ] && return 0
    sleep 0.05
  done
  return 1
}

mpx_nt_kill() { # pid
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for ((i = 0; i < 60; i++)); do
    kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
  return 0
}

mpx_nt_dump() {
  local n ns
  for n in client hag server; do
    ns=$(mpx_nt_ns $n)
    if [ -z "$ns" ] || ! ip netns list | grep -qw "$ns"; then continue; fi
    echo "=== $n ($ns)"
    ip -n "$ns" -br addr
    ip -n "$ns" route; ip -n "$ns" -6 route
    ip -n "$ns" mptcp endpoint show 2>/dev/null
    ip netns exec "$ns" ss -tanM 2>/dev/null | head -40
    ip netns exec "$ns" nstat -az 2>/dev/null | grep -E 'MPTcp|FastOpen|TcpExtListen|Retrans' | grep -v ' 0 ' | head -40
  done
}

mpx_nt_down() {
  local p n ns
  for p in "${MPX_NT_PIDS[@]}"; do mpx_nt_kill "$p"; done
  MPX_NT_PIDS=()
  for n in client hag server; do
    ns=$(mpx_nt_ns $n 2>/dev/null)
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
  done
  if [ -n "$MPX_NT_DIR" ] && [ -d "$MPX_NT_DIR" ] && [ "${MPX_NT_KEEP:-0}" != 1 ]; then
    rm -rf "$MPX_NT_DIR"
  fi
  return 0
}
