#!/usr/bin/env bash
# mpx-linkem --schedule in real namespaces: "1s down; 2s up" stops and resumes traffic at
# those times (receiver timestamps against the emulator's start), drops while down are
# logged with reason "down", and "2500ms ab delay=30ms" changes the one-way delay.
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/emu/linkem/testlib.sh"
t_require_root
t_require_cmd ip ethtool ping jq
t_require_bin mpx-linkem mpx-lkprobe
out=$(mktemp -d /tmp/mpx-lk-sched.XXXXXX)
trap 'lk_cleanup; rm -rf "$out"' EXIT INT TERM
lk_mkpair s

cat > "$out/sched" <<'S'
# failure injection
1s down
2s up
2500ms ab delay=30ms   # then a slower path
S
lk_start s "$out" "delay=5ms" "delay=5ms" --schedule "$out/sched" --events "$out/ev"
lk_warm s
# 1000 probes/s for 3.4 s (the receiver must outlast the 1 s silence)
lk_probe s "$out/rx" 3400 1000 --idle-ms 1500
lk_stop "$LK_PID" || true
start=$(jq .start_real_us "$out/stats.json")
# receive times relative to the emulator start, in ms
awk -F, -v s="$start" 'NR>1 {printf "%.3f %.3f %.3f\n", ($3/1000 - s)/1000, ($2/1000 - s)/1000, $4/1000}' \
  "$out/rx.csv" | sort -g > "$out/t"
read -r gap_from gap_to < <(awk 'NR>1 && $1-p > g {g=$1-p; a=p; b=$1} {p=$1} END{print a, b}' "$out/t")
echo "info: longest silence at the receiver: ${gap_from} ms .. ${gap_to} ms after start"
# last frame before the cut left at <=1000 ms and arrives 5 ms later; the first after 'up'
# is sent at >=2000 ms and arrives 5 ms later
t_near "traffic stops at 1s down (ms, last arrival - 5 ms delay)" "$(awk -v x="$gap_from" 'BEGIN{print x-5}')" 1000 30
t_near "traffic resumes at 2s up (ms, first arrival - 5 ms delay)" "$(awk -v x="$gap_to" 'BEGIN{print x-5}')" 2000 30
nd=$(jq '.ab.drops.down' "$out/stats.json")
t_check "about 1000 probes dropped while down ($nd)" [ "$nd" -ge 950 ] && [ "$nd" -le 1050 ]
t_check "down drops logged with reason down between 1 s and 2 s" bash -c "jq -s -e '[.[] | select(.reason==\"down\")] | length == $nd and all(.[]; .t_us >= 1000000 and .t_us <= 2010000)' '$out/ev' >/dev/null"
# one-way delay before the change and after it (sender time based)
d1=$(awk '$2 > 100 && $2 < 900 {print $3}' "$out/t" | lk_median)
d2=$(awk '$2 > 2600 {print $3}' "$out/t" | lk_median)
t_near "one-way delay before the change (ms)" "$d1" 5 0.3
t_near "one-way delay after '2500ms ab delay=30ms' (ms)" "$d2" 30 0.3
[ "$T_FAILED" = 0 ] || lk_dump s "$out"
t_done
