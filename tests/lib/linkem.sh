# shellcheck shell=bash
# tests/lib/linkem.sh: the link emulator tests' namespaces from tests/topo/pair.topo through
# the topology runtime (emu/lib/topo.sh), so that the emulator runs exactly as the experiments
# start it; the measuring helpers are emu/linkem/testlib.sh's (lk_warm, lk_probe,
# lk_ping_median, lk_median), which address the nodes as TAG-a / TAG-b.
# Source after tests/lib.sh:
#   mpx_lkt_up TAG OUT [mpx_topo_up options...]
#                       brings pair.topo up as run TAG<pid> with its pcap, stats
#                       (OUT/l.stats.json) and drop events (OUT/l.events.jsonl) under OUT;
#                       sets MPX_LKT (the TAG for the lk_* helpers) and LK_A_IP / LK_B_IP
#   mpx_lkt_down        stops the emulator (it writes its final stats) and removes the run
# shellcheck source=emu/lib/topo.sh
source "$MPX_ROOT/emu/lib/topo.sh"
# shellcheck source=emu/linkem/testlib.sh
source "$MPX_ROOT/emu/linkem/testlib.sh"
_mpx_lkt_set() { printf -v "$1" '%s' "$2"; }
MPX_LKT_RUN=''; _mpx_lkt_set MPX_LKT ''

mpx_lkt_up() {
  local tag=$1 out=$2; shift 2
  MPX_LKT_RUN=$tag$$
  mpx_topo_up "$MPX_ROOT/tests/topo/pair.topo" "$MPX_LKT_RUN" 1 --pcap-dir "$out" "$@" || return
  # lk_ns TAG-a = "$LK_PREFIX-TAG-a": the run's node namespaces are mpx-RUN-a / mpx-RUN-b
  # (printf -v: the variables are read by the sourced helpers and the tests)
  local a b
  a=$(mpx_topo_addr "$MPX_LKT_RUN" a eth0 4) && b=$(mpx_topo_addr "$MPX_LKT_RUN" b eth0 4) || return 3
  _mpx_lkt_set LK_PREFIX mpx; _mpx_lkt_set MPX_LKT "$MPX_LKT_RUN"
  _mpx_lkt_set LK_A_IP "$a"; _mpx_lkt_set LK_B_IP "$b"
}

mpx_lkt_down() {
  [ -n "$MPX_LKT_RUN" ] && [ -e "$(mpx_topo_state "$MPX_LKT_RUN")" ] || return 0
  mpx_topo_down "$MPX_LKT_RUN"
}
