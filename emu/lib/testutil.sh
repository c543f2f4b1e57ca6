# shellcheck shell=bash
# Helpers for tests/integration/emu_*.sh (source after tests/lib.sh and emu/lib/topo.sh).
#   mpx_tu_xfer_bin                   path of the mptcp_xfer test tool (built on demand)
#   mpx_tu_listen RUN NODE OUT ARGS.. mptcp_xfer --listen in NODE, in the background, JSON to
#                                     OUT; returns once it listens (PID in MPX_TU_PID)
#   mpx_tu_wait PID [SEC]             waits for a background PID (bounded)
#   mpx_tu_json FILE KEY              one field of the last JSON line of FILE (jq)
#   mpx_tu_median                     median of numbers on stdin
#   mpx_tu_ping_times                 "time=" values (ms) from ping output on stdin
#   mpx_tu_dump RUN                   addresses, routes, MPTCP, ss, nstat of every node (logs)
#   mpx_tu_run_gone RUN PIDS...       no namespace, state, veth or listed PID of RUN remains

mpx_tu_xfer_bin() {
  local b=$MPX_ROOT/build/rel/tools/mptcp_xfer
  if [ ! -x "$b" ] || [ "$MPX_ROOT/tests/tools/mptcp_xfer.c" -nt "$b" ]; then
    make -C "$MPX_ROOT" --no-print-directory build/rel/tools/mptcp_xfer >/dev/null 2>&1 || return 1
  fi
  echo "$b"
}

mpx_tu_listen() {
  local run=$1 node=$2 out=$3 ready i; shift 3
  ready=$out.ready; rm -f "$ready"
  mpx_topo_exec "$run" "$node" timeout 60 "$(mpx_tu_xfer_bin)" --ready "$ready" "$@" > "$out" 2>&1 &
  MPX_TU_PID=$!
  for ((i = 0; i < 500; i++)); do
    [ -s "$ready" ] && return 0
    kill -0 "$MPX_TU_PID" 2>/dev/null || { cat "$out" >&2; return 1; }
    sleep 0.01
  done
  return 1
}

mpx_tu_wait() {
  local pid=$1 sec=${2:-30} i
  for ((i = 0; i < sec * 100; i++)); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }; sleep 0.01; done
  kill "$pid" 2>/dev/null; return 124
}

mpx_tu_json() { grep '^{' "$1" | tail -n 1 | jq -r ".$2"; }
mpx_tu_median() { sort -n | awk '{v[NR]=$1} END{if (NR==0) {print "nan"; exit} if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
mpx_tu_ping_times() { sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'; }

mpx_tu_dump() {
  local run=$1 n
  for n in $(mpx_topo_nodes "$run" 2>/dev/null); do
    echo "## $n"
    mpx_topo_exec "$run" "$n" ip -br addr 2>&1
    mpx_topo_exec "$run" "$n" ip route 2>&1
    mpx_topo_exec "$run" "$n" ip mptcp endpoint 2>&1
    mpx_topo_exec "$run" "$n" ss -tanMi 2>&1 | head -40
    mpx_topo_exec "$run" "$n" nstat -az 2>&1 | grep -E 'MPJoin|MPCapable|TcpExtTCPFastOpen' | grep -v ' 0 '
  done
}

# mpx_tu_run_gone RUN PID...: prints what remains, fails if anything does
mpx_tu_run_gone() {
  local run=$1 p left=0; shift
  if ip netns list | awk '{print $1}' | grep -q "^mpx-$run-"; then
    echo "left: namespaces $(ip netns list | awk '{print $1}' | grep "^mpx-$run-" | tr '\n' ' ')"; left=1; fi
  [ ! -e "$(mpx_topo_state "$run")" ] || { echo "left: state dir $(mpx_topo_state "$run")"; left=1; }
  for p; do
    [[ $p =~ ^[0-9]+$ ]] || continue
    if kill -0 "$p" 2>/dev/null && tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q "mpx-$run-\|mpx-linkem"; then
      echo "left: PID $p ($(tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline"))"; left=1; fi
  done
  # veth ends of the run would only survive in a namespace that still exists, or in the
  # root namespace if one was created there: none of ours ever is, check anyway
  if ip -o link show type veth 2>/dev/null | grep -q "link-netns mpx-$run-"; then
    echo "left: veth in the root namespace"; left=1; fi
  return $left
}
