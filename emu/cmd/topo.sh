#!/usr/bin/env bash
# mpxlab topo: build, show and remove emulated topologies (emu/README.md, topologies/README.md)
set -euo pipefail
: "${MPX_ROOT:=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)}"
export MPX_ROOT
# shellcheck source=emu/lib/topo.sh
source "$MPX_ROOT/emu/lib/topo.sh"

usage() {
  cat <<'USAGE'
usage: mpxlab topo up FILE [--name RUN] [--seed S] [--param P]... [--at SPEC]...
                          [--pcap-dir DIR] [--plain] [--backend netns|mininet]
       mpxlab topo down RUN | --all [--force]
       mpxlab topo show RUN
       mpxlab topo list
       mpxlab topo check FILE [--param P]...      parse only, print the resolved topology
  up      builds FILE into namespaces mpx-RUN-NODE joined by mpx-linkem in mpx-RUN-l-LINK;
          prints RUN. --name default r<pid>, --seed default 1 (per-direction link seeds are
          derived from it). --param LINK.KEY=V (V or A/B), LINK.ab|ba|both.KEY=V, NODE.OPT=V,
          all.OPT=V override the file; --at "1s down dsl" | "2s set dsl delay=30ms" adds a
          schedule line; --pcap-dir puts pcap/stats/events outside the state dir (kept after
          down); --plain bridges links without emulation; --backend mininet makes every
          node and link namespace a Mininet host (emu/mininet/README.md; default netns).
  down    ends the run's emulators and processes by PID, deletes its namespaces and state.
          --all: every run with state and every namespace marked by mpxlab topo;
          --all --force: also every other namespace named mpx-*.
Exit: 0 ok, 2 usage or topology error (FILE:LINE: reason), 3 setup error (torn down).
State: /run/mpxlab/RUN (MPX_TOPO_STATE_BASE).
USAGE
}

sub=${1:-}; [ $# -gt 0 ] && shift
case $sub in
  up)
    [ $# -ge 1 ] || { usage >&2; exit 2; }
    file=$1; shift
    run="r$$" seed=1 rest=()
    while [ $# -gt 0 ]; do
      case $1 in
        --name) [ $# -ge 2 ] || { echo "topo: --name needs a value" >&2; exit 2; }; run=$2; shift 2 ;;
        --seed) [ $# -ge 2 ] || { echo "topo: --seed needs a value" >&2; exit 2; }; seed=$2; shift 2 ;;
        --param|--at|--pcap-dir|--backend) [ $# -ge 2 ] || { echo "topo: $1 needs a value" >&2; exit 2; }; rest+=("$1" "$2"); shift 2 ;;
        --plain) rest+=("$1"); shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "topo: unknown option '$1'" >&2; usage >&2; exit 2 ;;
      esac
    done
    rc=0; mpx_topo_up "$file" "$run" "$seed" "${rest[@]}" || rc=$?
    [ $rc = 0 ] && echo "$run"
    exit $rc ;;
  down)
    case ${1:-} in
      "") usage >&2; exit 2 ;;
      --all) mpx_topo_down_all "${2:-}" ;;
      *) mpx_topo_down "$1" ;;
    esac ;;
  show) [ $# = 1 ] || { usage >&2; exit 2; }; mpx_topo_show "$1" ;;
  list)
    for d in "$MPX_TOPO_STATE_BASE"/*/; do [ -f "$d/nodes" ] && basename "$d"; done; true ;;
  check)
    [ $# -ge 1 ] || { usage >&2; exit 2; }
    file=$1; shift
    mpx_topofile_parse "$file" || exit 2
    while [ $# -gt 0 ]; do
      case $1 in
        --param) mpx_topofile_param "${2:?}" || exit 2; shift 2 ;;
        --at) mpx_topofile_at "${2:?}" || exit 2; shift 2 ;;
        *) echo "topo: unknown option '$1'" >&2; exit 2 ;;
      esac
    done
    mpx_topofile_dump ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
