#!/usr/bin/env bash
# mpx-linkem shaping in real namespaces: UDP rate at the bottleneck (frame bytes), drop-tail
# queue limit, a Mahimahi trace, jitter without reordering (reorder=0) and with (reorder=1).
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/linkem.sh"
t_require_root
t_require_cmd ip ethtool ping jq
t_require_bin mpx-linkem mpx-lkprobe
out=$(mktemp -d /tmp/mpx-lk-shape.XXXXXX)
trap 'mpx_lkt_down > /dev/null 2>&1; rm -rf "$out"' EXIT INT TERM
# shape NAME "AB-SPEC": a fresh pair.topo whose link has AB-SPEC (KEY=VALUE words) a->b and
# delay=1ms b->a; the emulator's files under $out/emu/NAME; H is the lk_* helpers' tag
shape() {
  local kv p=(--param l.ba.delay=1ms)
  for kv in $2; do p+=(--param "l.ab.$kv"); done
  mkdir -p "$out/emu/$1"
  MPX_TOPO_PCAP=0 mpx_lkt_up sh "$out/emu/$1" "${p[@]}" || { t_fail "$1 setup" topology; exit 1; }
  H=$MPX_LKT
  lk_warm "$H"
}
# bottleneck rate from the receiver's view: frames/s between first and last arrival
rx_pps() { jq .pps "$1"; }

# 1. rate=10mbit, 1000-byte probes (1042-byte frames) offered at 2400/s = 20 Mbit/s:
#    the bottleneck passes 10e6/8/1042 = 1199.6 frames/s; the queue (150p) overflows.
#    150p = 125 ms of backlog keeps the bottleneck busy through sender stalls on a
#    loaded machine (a drained queue would lower the delivered rate)
shape r "rate=10mbit queue=150p"
LK_PROBE_SIZE=1000 lk_probe "$H" "$out/rate" 3000 2400 --idle-ms 300
mpx_lkt_down
t_near "rate=10mbit - delivered frames/s (want 1199.6)" "$(rx_pps "$out/rate")" 1199.6 24
t_check "queue=150p - drop-tail drops and hwm <= 150" lk_jq "$out/emu/r/l.stats.json" '.ab.drops.queue > 100 and .ab.queue_hwm_pkts <= 150 and .ab.queue_hwm_pkts >= 149'
qb=$(jq '.ab.drops.queue' "$out/emu/r/l.stats.json")
rx=$(jq .received "$out/rate")
t_check "every probe either delivered or dropped ($rx + $qb = 3000)" [ $((rx + qb)) = 3000 ]

# 2. Mahimahi trace: opportunities at 1,2,...,10 ms (period 10 ms) = 1000 x 1500 B/s;
#    1442-byte frames; as in Mahimahi a frame may span two opportunities, so the bytes add
#    up: 1000*1500/1442 = 1040.2 frames/s
seq 1 10 > "$out/t10.trace"
shape t "trace=$out/t10.trace queue=200p"
LK_PROBE_SIZE=1400 lk_probe "$H" "$out/trace" 2000 1600 --idle-ms 300
t_near "trace 1 opportunity/ms - delivered frames/s (want 1040.2)" "$(rx_pps "$out/trace")" 1040.2 20
# (traces load before any interface is touched)
rc=0; ip netns exec "$(mpx_topo_link_ns "$H" l)" "$LK_BIN" --if-a a --if-b b --ab "trace=$out/nonexistent" --ba "" --quiet \
  --keep-offloads 2>"$out/err" || rc=$?
t_check "missing trace file - exit 3 naming the file" [ "$rc" = 3 ] && grep -q nonexistent "$out/err"
mpx_lkt_down

# 3. jitter=2ms on delay=10ms, probes 0.5 ms apart (jitter spans overlap)
shape j0 "delay=10ms jitter=2ms seed=5"
lk_probe "$H" "$out/j0" 2000 2000 --delay-us 10000
mpx_lkt_down
t_check "jitter, reorder=0 - nothing reordered" lk_jq "$out/j0" '.reordered == 0 and .received == 2000'
t_check "jitter, reorder=0 - one-way delay >= delay-jitter" lk_jq "$out/j0" '.owd_us.min >= -2050'
shape j1 "delay=10ms jitter=2ms reorder=1 seed=5"
lk_probe "$H" "$out/j1" 2000 2000 --delay-us 10000
mpx_lkt_down
echo "info: reorder=1 owd-10ms: $(jq -c .owd_us "$out/j1")"
t_check "jitter, reorder=1 - packets reordered" lk_jq "$out/j1" '.reordered > 100'
# uniform on [-2,+2] ms: p10 -1.6, p50 0, p90 +1.6 ms; quantiles, not extremes, so that a
# stall of a loaded machine (which only adds delay to a few frames) does not decide
t_check "jitter, reorder=1 - uniform in [-2,+2] ms around 10 ms" lk_jq "$out/j1" '.owd_us.min >= -2050 and .owd_us.p10 <= -1200 and .owd_us.p10 >= -2000 and (.owd_us.p50 | fabs) < 400 and .owd_us.p90 >= 1200 and .owd_us.p90 <= 2000'
[ "$T_FAILED" = 0 ] || { echo "--- stats"; cat "$out"/emu/*/l.stats.json; }
t_done
