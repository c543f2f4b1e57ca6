#!/usr/bin/env bash
# mpxlab exec RUN NODE -- CMD...: run CMD inside a node of a running topology
set -euo pipefail
: "${MPX_ROOT:=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)}"
export MPX_ROOT
# shellcheck source=emu/lib/topo.sh
source "$MPX_ROOT/emu/lib/topo.sh"
if [ $# -lt 3 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  echo "usage: mpxlab exec RUN NODE -- CMD [ARG...]   (exit status is CMD's; 2 unknown run/node)"
  [ $# -ge 3 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ] || exit 2; exit 0
fi
run=$1 node=$2; shift 2
[ "$1" = -- ] && shift
[ $# -ge 1 ] || { echo "exec: no command" >&2; exit 2; }
_mpx_topo_need "$run" || exit 2
awk -v n="$node" '$1==n{f=1} END{exit !f}' "$(mpx_topo_state "$run")/nodes" ||
  { echo "exec: run $run has no node '$node' ($(mpx_topo_nodes "$run" | tr '\n' ' '))" >&2; exit 2; }
# Mininet runs: the Mininet way in (mnexec -a PID of the node's host shell)
if _mpx_topo_run_is_mn "$run"; then _mpx_topo_mn; pid=$(mpx_mn_pid "$run" "$node") || exit 2; exec mnexec -a "$pid" env -C "$PWD" "$@"; fi
exec ip netns exec "$(mpx_topo_ns "$run" "$node")" "$@"
