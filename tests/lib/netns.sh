# shellcheck shell=bash
# tests/lib/netns.sh: the integration tests' namespaces, built from a small .topo file by the
# topology runtime (emu/lib/topo.sh), the same code that builds the experiments' networks.
# Default: tests/topo/triple.topo with --plain (a bridge per link, no emulator; the veths keep
# a new veth's offload settings, as plain veths would):
#
#   client ==dsl== hag --wan-- server        (the client also has a second link: ==lte==)
#
# Usage (source after tests/lib.sh):
#   trap mpx_nt_down EXIT INT TERM
#   mpx_nt_up TAG [--topo FILE] [--emulated] [--param P]...
#                                     brings FILE (default tests/topo/triple.topo) up as run
#                                     TAG<pid> (namespaces mpx-TAG<pid>-NODE); --emulated: the
#                                     links' mpx-linkem instead of bridges; --param: topo
#                                     overrides (e.g. client.subflows=off)
#   mpx_nt_exec NODE CMD...           runs CMD in NODE (client|hag|server, or any node of FILE)
#   mpx_nt_ns NODE                    prints NODE's netns name
#   mpx_nt_bg NODE LOG CMD...         starts CMD in NODE in the background (stdout+stderr to LOG),
#                                     records its PID (killed by mpx_nt_down); sets MPX_NT_LASTPID
#   mpx_nt_wait_file FILE [SEC]       polls until FILE exists and is non-empty (default 10 s)
#   mpx_nt_kill PID                   TERM (then KILL after 3 s) one process started by mpx_nt_bg
#   mpx_nt_dump                       ip addr/route/mptcp, ss, nstat of every node (for failure logs)
#   mpx_nt_down                       kills the recorded PIDs, takes the run down (mpx_topo_down),
#                                     removes MPX_NT_DIR unless MPX_NT_KEEP=1
#
# Set by mpx_nt_up:
#   MPX_NT_RUN                               the topology run name (mpx_topo_* functions take it)
#   MPX_NT_CLIENT MPX_NT_HAG MPX_NT_SERVER   netns names (empty when FILE has no such node)
#   MPX_NT_DIR                               scratch directory for logs/ready files
#   addresses of triple.topo's interfaces (bare, without prefix length; /24 and /64):
#   MPX_NT_C_DSL4 MPX_NT_C_DSL6   client dsl     MPX_NT_H_DSL4 MPX_NT_H_DSL6   hag dsl
#   MPX_NT_C_LTE4 MPX_NT_C_LTE6   client lte     MPX_NT_H_LTE4 MPX_NT_H_LTE6   hag lte
#   MPX_NT_S4     MPX_NT_S6       server wan     MPX_NT_H_WAN4 MPX_NT_H_WAN6   hag wan
# Routing, MPTCP endpoints and sysctls are the topology runtime's (topologies/README.md): the
# client's default route over dsl, a source-routed table for lte and an MPTCP subflow endpoint
# on it; the hag forwards. net.ipv4.tcp_fastopen: client 0x1, hag and server 0x3 (the .topo);
# MPX_NT_TFO_CLIENT / MPX_NT_TFO_HAG / MPX_NT_TFO_SERVER set before mpx_nt_up override them.

# shellcheck source=emu/lib/topo.sh
source "$MPX_ROOT/emu/lib/topo.sh"

# the address variables: name, node, interface, family (set through printf -v by mpx_nt_up)
_MPX_NT_ADDRS=(MPX_NT_C_DSL4:client:dsl:4 MPX_NT_C_DSL6:client:dsl:6 MPX_NT_H_DSL4:hag:dsl:4
  MPX_NT_H_DSL6:hag:dsl:6 MPX_NT_C_LTE4:client:lte:4 MPX_NT_C_LTE6:client:lte:6
  MPX_NT_H_LTE4:hag:lte:4 MPX_NT_H_LTE6:hag:lte:6 MPX_NT_H_WAN4:hag:wan:4 MPX_NT_H_WAN6:hag:wan:6
  MPX_NT_S4:server:wan:4 MPX_NT_S6:server:wan:6)
MPX_NT_RUN='' MPX_NT_DIR='' MPX_NT_LASTPID=''
_mpx_nt_vars() { # clears (no argument) or fills (1) the node and address variables
  local n v
  for n in client hag server; do
    v=''; [ -z "${1:-}" ] || ! mpx_topo_nodes "$MPX_NT_RUN" | grep -qx "$n" || v=$(mpx_nt_ns "$n")
    printf -v "MPX_NT_${n^^}" '%s' "$v"
  done
  for v in "${_MPX_NT_ADDRS[@]}"; do
    IFS=: read -r -a n <<< "$v"
    printf -v "${n[0]}" '%s' "$([ -z "${1:-}" ] || _mpx_nt_addr "${n[1]}" "${n[2]}" "${n[3]}")"
  done
}
_mpx_nt_vars
MPX_NT_PIDS=()

mpx_nt_ns() {
  [ -n "$MPX_NT_RUN" ] || { echo "mpx_nt_ns: no run (mpx_nt_up first)" >&2; return 2; }
  mpx_topo_ns "$MPX_NT_RUN" "$1"
}

mpx_nt_exec() {
  local ns; ns=$(mpx_nt_ns "$1") || return 2; shift
  ip netns exec "$ns" "$@"
}

# _mpx_nt_addr NODE IF FAMILY: the interface's address, empty when it has none
_mpx_nt_addr() { mpx_topo_addr "$MPX_NT_RUN" "$1" "$2" "$3" 2>/dev/null | grep -v '^-$' || true; }

mpx_nt_up() {
  local tag=${1:-nt} topo=$MPX_ROOT/tests/topo/triple.topo plain=--plain args=() n; shift || true
  while [ $# -gt 0 ]; do
    case $1 in
      --topo) topo=$2; shift 2 ;;
      --emulated) plain=''; shift ;;
      --param) args+=(--param "$2"); shift 2 ;;
      *) echo "mpx_nt_up: unknown option '$1'" >&2; return 2 ;;
    esac
  done
  [ "$(id -u)" = 0 ] || { echo "mpx_nt_up: needs root" >&2; return 3; }
  [ -z "${MPX_NT_TFO_CLIENT:-}" ] || args+=(--param "client.tfo=$MPX_NT_TFO_CLIENT")
  [ -z "${MPX_NT_TFO_HAG:-}" ] || args+=(--param "hag.tfo=$MPX_NT_TFO_HAG")
  [ -z "${MPX_NT_TFO_SERVER:-}" ] || args+=(--param "server.tfo=$MPX_NT_TFO_SERVER")
  MPX_NT_RUN=$tag$$
  MPX_NT_DIR=$(mktemp -d "/tmp/mpx-$tag-$$.XXXXXX")
  if ! mpx_topo_up "$topo" "$MPX_NT_RUN" 1 ${plain:+"$plain"} "${args[@]}" > "$MPX_NT_DIR/topo-up.log" 2>&1; then
    echo "mpx_nt_up: setup failed: $(tail -n 5 "$MPX_NT_DIR/topo-up.log")" >&2
    mpx_nt_down
    return 3
  fi
  _mpx_nt_vars 1
  # without an emulator (which reads whole frames) the veths keep the kernel's defaults, as
  # on any plain veth: some tests reproduce kernel behaviour that depends on segmentation
  [ -z "$plain" ] || _mpx_nt_offloads_default || { echo "mpx_nt_up: ethtool failed" >&2; mpx_nt_down; return 3; }
  return 0
}

# _mpx_nt_offloads_default: a new veth's offload settings on every veth of the run
_mpx_nt_offloads_default() {
  local ns ifn
  while read -r ns; do
    for ifn in $(ip -n "$ns" -o link show type veth | awk -F': ' '{sub(/@.*/, "", $2); print $2}'); do
      ip netns exec "$ns" ethtool -K "$ifn" tso on gso on tx on rx on >/dev/null 2>&1 || return 1
    done
  done < "$(mpx_topo_state "$MPX_NT_RUN")/netns"
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
  [ -n "$MPX_NT_RUN" ] || return 0
  for n in $(mpx_topo_nodes "$MPX_NT_RUN" 2>/dev/null); do
    ns=$(mpx_nt_ns "$n")
    [ -e "/run/netns/$ns" ] || continue
    echo "=== $n ($ns)"
    ip -n "$ns" -br addr
    ip -n "$ns" route; ip -n "$ns" -6 route
    ip -n "$ns" mptcp endpoint show 2>/dev/null
    ip netns exec "$ns" ss -tanM 2>/dev/null | head -40
    ip netns exec "$ns" nstat -az 2>/dev/null | grep -E 'MPTcp|FastOpen|TcpExtListen|Retrans' | grep -v ' 0 ' | head -40
  done
}

mpx_nt_down() {
  local p
  for p in "${MPX_NT_PIDS[@]}"; do mpx_nt_kill "$p"; done
  MPX_NT_PIDS=()
  if [ -n "$MPX_NT_RUN" ] && [ -e "$(mpx_topo_state "$MPX_NT_RUN")" ]; then
    mpx_topo_down "$MPX_NT_RUN" >/dev/null 2>&1 || true
  fi
  if [ -n "$MPX_NT_DIR" ] && [ -d "$MPX_NT_DIR" ] && [ "${MPX_NT_KEEP:-0}" != 1 ]; then
    rm -rf "$MPX_NT_DIR"
  fi
  return 0
}
