#!/usr/bin/env bash
# mpx-linkem basics in real namespaces (A -- linkem -- B): delay (ping RTT), rate (TCP bulk
# goodput), pcap and stats output, SIGUSR1, SIGTERM exit, usage/setup exit codes.
# timeout: 120
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/emu/linkem/testlib.sh"
t_require_root
t_require_cmd ip ethtool ping iperf3 jq tcpdump
t_require_bin mpx-linkem mpx-lkprobe
out=$(mktemp -d /tmp/mpx-lk-basic.XXXXXX)
trap 'lk_cleanup; rm -rf "$out"' EXIT INT TERM

# --- exit codes without any namespace
rc=0; "$LK_BIN" --if-a x --if-b y --ab "delay=10" --ba "" 2>/dev/null || rc=$?
t_check "usage - unit-less delay exits 2" [ "$rc" = 2 ]
rc=0; "$LK_BIN" --if-a x 2>/dev/null || rc=$?
t_check "usage - missing options exit 2" [ "$rc" = 2 ]
rc=0; "$LK_BIN" --if-a nonexist0 --if-b nonexist1 --ab "" --ba "" --quiet 2>/dev/null || rc=$?
t_check "setup - missing interface exits 3" [ "$rc" = 3 ]
t_check "help lists every SPEC key" bash -c "'$LK_BIN' --help | grep -q 'queue=100p' && '$LK_BIN' --help | grep -q 'ge=P/R/LG/LB'"

lk_mkpair b
# --- delay: 10 ms each way, median RTT within +-0.5 ms of 20 ms
lk_start b "$out" "delay=10ms" "delay=10ms" --pcap "$out/d.pcap"
lk_warm b
med=$(lk_ping_median b 50 0.02)
kill -USR1 "$LK_PID"
for _ in $(seq 1 50); do [ -s "$out/stats.json" ] && break; sleep 0.02; done
t_near_late "ping median RTT over 10ms+10ms (ms)" "$med" 20 0.5 "$(t_late_rt_ms "$out/stats.json")"
t_check "SIGUSR1 writes stats while running" lk_jq "$out/stats.json" '.ab.pkts_out >= 50 and .elapsed_s > 0'
rc=0; lk_stop "$LK_PID" || rc=$?
t_check "SIGTERM exits 0" [ "$rc" = 0 ]
t_check "stats have every contract field" lk_jq "$out/stats.json" '.link=="b" and (.ab|has("pkts_in") and has("bytes_in") and has("pkts_out") and has("bytes_out") and (.drops|has("loss") and has("queue") and has("down")) and has("queue_hwm_pkts") and has("queue_hwm_bytes")) and (.ba|has("pkts_in")) and has("cpu_user_s") and has("cpu_sys_s") and has("elapsed_s")'
t_check "no frame lost in the emulator" lk_jq "$out/stats.json" '.ab.pkts_in == .ab.pkts_out and .ba.pkts_in == .ba.pkts_out and .ab.pkts_in >= 52'
n_pcap=$(tcpdump -nn -r "$out/d.pcap" 2>/dev/null | wc -l)
n_stats=$(jq '.ab.pkts_out + .ba.pkts_out' "$out/stats.json")
t_check "pcap holds every sent frame ($n_pcap = $n_stats)" [ "$n_pcap" = "$n_stats" ]
first=$(tcpdump -nn -tt -r "$out/d.pcap" -c 1 2>/dev/null | awk '{print $1}')
start=$(jq .start_real_us "$out/stats.json")
t_check "pcap stamps are wall-clock time (first frame $first s, start $start us)" \
  awk -v f="$first" -v s="$start" 'BEGIN{d=f-s/1e6; exit !(d >= 0 && d < 5)}'
# request->reply gap in the emulator's own pcap: B answers at once, so the ab frame of an
# echo request and the ba frame of its reply are ~10 ms (the ba delay) apart
gap=$(tcpdump -nn -tt -r "$out/d.pcap" icmp 2>/dev/null | awk '
  /echo request/ {match($0,/seq [0-9]+/); s=substr($0,RSTART+4,RLENGTH-4); rq[s]=$1}
  /echo reply/   {match($0,/seq [0-9]+/); s=substr($0,RSTART+4,RLENGTH-4); if (s in rq) print ($1-rq[s])*1000}' | lk_median)
t_near_late "pcap - request->reply stamp gap (ms)" "$gap" 10 0.5 "$(t_late_rt_ms "$out/stats.json")"
lat=$(jq '[.ab.late_us.p50, .ba.late_us.p50] | max' "$out/stats.json")
echo "info: release lateness ab $(jq -c .ab.late_us "$out/stats.json") ba $(jq -c .ba.late_us "$out/stats.json") (us)"
# the median, not the tail: other tests' softirq floods on this shared box can stall anyone
t_check "release lateness p50 < 200 us (${lat})" [ "$lat" -lt 200 ]

# --- rate: TCP bulk over 20 Mbit/s, goodput within +-10 %
lk_start b "$out" "rate=20mbit delay=5ms queue=100p" "rate=20mbit delay=5ms queue=100p"
lk_warm b
lk_exec b-b timeout 30 iperf3 -s -1 -B "$LK_B_IP" >/dev/null 2>&1 &
srv=$!
for _ in $(seq 1 100); do lk_exec b-b ss -Hltn "sport = :5201" | grep -q . && break; sleep 0.02; done
lk_exec b-a timeout 30 iperf3 -c "$LK_B_IP" -t 4 -J > "$out/iperf.json" || true
wait "$srv" 2>/dev/null || true
good=$(jq '.end.sum_received.bits_per_second / 1e6' "$out/iperf.json" 2>/dev/null || echo nan)
lk_stop "$LK_PID" || true
# shaping: not above the rate (+10 %); below it (-10 %) only by what the emulator's own measured
# lateness explains over the 10 ms RTT (it only delays)
t_check "TCP goodput over rate=20mbit at most 22 Mbit/s ($good)" awk -v g="$good" 'BEGIN{exit !(g <= 22)}'
t_rate_late "TCP goodput over rate=20mbit (Mbit/s)" "$good" 18 10 "$(t_late_rt_ms "$out/stats.json")"
t_check "bottleneck queue stayed within queue=100p" lk_jq "$out/stats.json" '.ab.queue_hwm_pkts <= 100 and .ab.queue_hwm_pkts > 1'
echo "info: linkem cpu user $(jq .cpu_user_s "$out/stats.json") s sys $(jq .cpu_sys_s "$out/stats.json") s over $(jq .elapsed_s "$out/stats.json") s"

[ "$T_FAILED" = 0 ] || lk_dump b "$out"
t_done
