#!/usr/bin/env bash
# bench/linkem/lateness.sh: mpx-linkem's release lateness and one-way delay error as the
# experiments run it (pcap on, a DSL-like link), with the host idle or loaded.
#   bench/linkem/lateness.sh [--secs N] [--load idle|churn|hog] [--pps R] [--awake on|off]
#                            [-- LINKEM-ARGS...]
# --awake on: bin/mpx-awake keeps the CPUs from halting during the run, as `mpxlab run` does
# Load (bounded by timeout, started and stopped by PID):
#   idle   nothing else
#   churn  two shell loops forking jq and sed, as the harness does between connections
#   hog    two pure busy loops (user mode only)
# Traffic: UDP probes A->B at --pps (100-byte payload), ping B->A every 10 ms, a 1 Mbit/s
# TCP flow B->A (iperf3 -R, under the 2 Mbit/s of that direction). Prints one JSON line:
# the emulator's late_us per direction, its "diag" object, the receiver's one-way delay error
# (measured - 10 ms - serialization), the host steal during the run and the load average.
# Exit: 0 ok, 1 failure, 77 not root.
set -euo pipefail
cd "$(dirname "$0")/../.."
MPX_ROOT=$(pwd)
export MPX_ROOT
# shellcheck source=emu/linkem/testlib.sh
source emu/linkem/testlib.sh
[ "$(id -u)" = 0 ] || { echo "bench/linkem/lateness: needs root" >&2; exit 77; }
secs=10 load=idle pps=2000 awake=off
while [ $# -gt 0 ]; do
  case $1 in
    --secs) secs=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    --pps) pps=$2; shift 2 ;;
    --awake) awake=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--secs N] [--load idle|churn|hog] [--pps R] [--awake on|off] [-- LINKEM-ARGS...]" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d /tmp/mpx-lk-late.XXXXXX)
mpx_lkl_loadpids=()
mpx_lkl_cleanup() {
  local p
  for p in "${mpx_lkl_loadpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${mpx_lkl_loadpids[@]}"; do wait "$p" 2>/dev/null || true; done
  lk_cleanup
  rm -rf "$out"
}
trap mpx_lkl_cleanup EXIT INT TERM

# mpx_lkl_load KIND SECS: starts the load in the background (PIDs in mpx_lkl_loadpids)
mpx_lkl_load() {
  local i
  for i in 1 2; do
    case $1 in
      churn) timeout "$2" bash -c 'while :; do jq -n "[range(3000)] | add" >/dev/null; echo x | sed s/x/y/ >/dev/null; done' &
             mpx_lkl_loadpids+=($!) ;;
      hog) timeout "$2" bash -c 'while :; do :; done' &
           mpx_lkl_loadpids+=($!) ;;
      idle) return 0 ;;
      *) echo "unknown load $1" >&2; return 2 ;;
    esac
  done
  : "$i"
}

lk_mkpair e
lk_start e "$out" "rate=20mbit delay=10ms queue=100p" "rate=2mbit delay=10ms queue=100p" \
  --pcap "$out/e.pcap" "$@"
lk_warm e
mpx_lkl_steal() { awk '/^cpu /{print $9; exit}' /proc/stat; }
st0=$(mpx_lkl_steal) t0=$(date +%s%N)
mpx_lkl_load "$load" $((secs + 6))
if [ "$awake" = on ]; then
  [ -x bin/mpx-awake ] || { echo "bin/mpx-awake missing: make" >&2; exit 1; }
  timeout $((secs + 20)) bin/mpx-awake & mpx_lkl_loadpids+=($!)
fi
lk_exec e-b timeout $((secs + 10)) iperf3 -s -1 -B "$LK_B_IP" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 1 100); do lk_exec e-b ss -Hltn "sport = :5201" | grep -q . && break; sleep 0.02; done
lk_exec e-a timeout $((secs + 10)) iperf3 -c "$LK_B_IP" -R -t "$secs" -b 1M >/dev/null 2>&1 &
cli=$!
lk_exec e-b timeout $((secs + 10)) ping -q -i 0.01 -w "$secs" "$LK_A_IP" >/dev/null 2>&1 &
png=$!
# expected one-way delay: 10 ms + serialization of the 142-byte frame at 20 Mbit/s (56.8 us)
LK_PROBE_SIZE=100 lk_probe e "$out/p" $((secs * pps)) "$pps" --delay-us 10056.8
wait "$cli" "$png" "$srv" 2>/dev/null || true
lk_stop "$LK_PID" || true
st1=$(mpx_lkl_steal) t1=$(date +%s%N)
# steal: CPU time the hypervisor gave to others while this VM wanted it (USER_HZ ticks)
steal=$(awk -v a="$st0" -v b="$st1" -v d=$((t1 - t0)) -v n="$(nproc)" \
  'BEGIN{printf "%.1f", (b-a)/100/(d/1e9*n)*100}')
jq -c --arg load "$load" --argjson awake "$([ "$awake" = on ] && echo true || echo false)" --argjson steal "$steal" --argjson loadavg "$(cut -d' ' -f1 /proc/loadavg)" \
  --slurpfile p "$out/p" '{load: $load, awake: $awake, loadavg: $loadavg, steal_pct: $steal,
    late_us: {ab: .ab.late_us, ba: .ba.late_us}, owd_err_us: $p[0].owd_us,
    probes: $p[0].received, pkts: (.ab.pkts_out + .ba.pkts_out), kernel_drops: (.ab.kernel_drops + .ba.kernel_drops),
    pcap_frames, pcap_dropped: (.pcap_dropped // null), diag, cpu_s: (.cpu_user_s + .cpu_sys_s)}' "$out/stats.json"
