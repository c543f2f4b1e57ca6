#!/usr/bin/env bash
# mpx-linkem --schedule in real namespaces: "1s down; 2s up" stops and resumes traffic at
# those times (receiver timestamps against the emulator's start), drops while down are
# logged with reason "down", and "2500ms ab delay=30ms" changes the one-way delay. The
# namespaces and the emulator come from tests/topo/pair.topo (tests/lib/linkem.sh), the
# schedule from the topology's `at` lines.
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/linkem.sh"
t_require_root
t_require_cmd ip ethtool ping jq
t_require_bin mpx-linkem mpx-lkprobe
out=$(mktemp -d /tmp/mpx-lk-sched.XXXXXX)
trap 'mpx_lkt_down > /dev/null 2>&1; rm -rf "$out"' EXIT INT TERM
# failure injection, then a slower path
MPX_TOPO_PCAP=0 mpx_lkt_up s "$out" --param l.delay=5ms --at "1s down l" --at "2s up l" \
  --at "2500ms l ab delay=30ms" || { echo "FAIL: setup: topology"; exit 1; }
S=$MPX_LKT
lk_warm "$S"
# 1000 probes/s for 3.4 s (the receiver must outlast the 1 s silence)
lk_probe "$S" "$out/rx" 3400 1000 --idle-ms 1500
mpx_lkt_down   # the emulator writes its final stats and events
start=$(jq .start_real_us "$out/l.stats.json")
# receive times relative to the emulator start, in ms
awk -F, -v s="$start" 'NR>1 {printf "%.3f %.3f %.3f\n", ($3/1000 - s)/1000, ($2/1000 - s)/1000, $4/1000}' \
  "$out/rx.csv" | sort -g > "$out/t"
read -r gap_from gap_to < <(awk 'NR>1 && $1-p > g {g=$1-p; a=p; b=$1} {p=$1} END{print a, b}' "$out/t")
echo "info: longest silence at the receiver: ${gap_from} ms .. ${gap_to} ms after start"
# last frame before the cut left at <=1000 ms and arrives 5 ms later; the first after 'up'
# is sent at >=2000 ms and arrives 5 ms later
t_near "traffic stops at 1s down (ms, last arrival - 5 ms delay)" "$(awk -v x="$gap_from" 'BEGIN{print x-5}')" 1000 30
t_near "traffic resumes at 2s up (ms, first arrival - 5 ms delay)" "$(awk -v x="$gap_to" 'BEGIN{print x-5}')" 2000 30
nd=$(jq '.ab.drops.down' "$out/l.stats.json")
t_check "about 1000 probes dropped while down ($nd)" [ "$nd" -ge 950 ] && [ "$nd" -le 1050 ]
t_check "down drops logged with reason down between 1 s and 2 s" bash -c "jq -s -e '[.[] | select(.reason==\"down\")] | length == $nd and all(.[]; .t_us >= 1000000 and .t_us <= 2010000)' '$out/l.events.jsonl' >/dev/null"
# one-way delay before the change and after it (sender time based)
d1=$(awk '$2 > 100 && $2 < 900 {print $3}' "$out/t" | lk_median)
d2=$(awk '$2 > 2600 {print $3}' "$out/t" | lk_median)
t_near "one-way delay before the change (ms)" "$d1" 5 0.3
t_near "one-way delay after '2500ms ab delay=30ms' (ms)" "$d2" 30 0.3
[ "$T_FAILED" = 0 ] || { echo "--- stats"; cat "$out/l.stats.json"; }
t_done
