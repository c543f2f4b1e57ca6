#!/usr/bin/env bash
# mpx-linkem --schedule in real namespaces: "1s down; 2s up" stops and resumes traffic at
# those times (receiver timestamps against the emulator's start), drops while down are
# logged with reason "down", and "2500ms ab delay=30ms" changes the one-way delay. The
# namespaces and the emulator come from tests/topo/pair.topo (tests/lib/linkem.sh), the
# schedule from the topology's `at` lines.
# timeout: 120
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/linkem.sh"
t_require_root
t_require_cmd ip ethtool ping jq
t_require_bin mpx-linkem mpx-lkprobe
out=$(mktemp -d /tmp/mpx-lk-sched.XXXXXX)
trap 'mpx_lkt_down > /dev/null 2>&1; [ -n "${MPX_KEEP:-}" ] || rm -rf "$out"' EXIT INT TERM
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
# (the emulator's own measured release lateness only delays an arrival)
late=$(t_late_rt_ms "$out/l.stats.json")
t_near_late "traffic stops at 1s down (ms, last arrival - 5 ms delay)" "$(awk -v x="$gap_from" 'BEGIN{print x-5}')" 1000 30 "$late"
t_near_late "traffic resumes at 2s up (ms, first arrival - 5 ms delay)" "$(awk -v x="$gap_to" 'BEGIN{print x-5}')" 2000 30 "$late"
nd=$(jq '.ab.drops.down' "$out/l.stats.json")
t_check "about 1000 probes dropped while down ($nd)" [ "$nd" -ge 950 ] && [ "$nd" -le 1050 ]
t_check "down drops logged with reason down between 1 s and 2 s" bash -c "jq -s -e '[.[] | select(.reason==\"down\")] | length == $nd and all(.[]; .t_us >= 1000000 and .t_us <= 2010000)' '$out/l.events.jsonl' >/dev/null"
# one-way delay before the change and after it (sender time based)
d1=$(awk '$2 > 100 && $2 < 900 {print $3}' "$out/t" | lk_median)
d2=$(awk '$2 > 2600 {print $3}' "$out/t" | lk_median)
t_near_late "one-way delay before the change (ms)" "$d1" 5 0.3 "$late"
t_near_late "one-way delay after '2500ms ab delay=30ms' (ms)" "$d2" 30 0.3 "$late"
[ "$T_FAILED" = 0 ] || { echo "--- stats"; cat "$out/l.stats.json"; }

# --- part 2: triggered entries ("usr2+TIME", counted from each SIGUSR2 in the emulator's
# clock), carrier loss and a silent blackhole from the same schedule. Carrier loss: the
# emulator sets its two interfaces down and the veth driver takes the carrier of the hosts'
# ends with them, so host a's kernel reports NO-CARRIER and drops its own frames (tx_dropped)
# while the emulator logs no drop; the blackhole drops inside the emulator (reason "down").
out2=$out/trig; mkdir -p "$out2"
MPX_TOPO_PCAP=0 mpx_lkt_up t "$out2" --param l.delay=5ms --at "usr2+300ms carrier-down l" \
  --at "usr2+700ms carrier-up l" --at "usr2+2000ms down l" --at "usr2+2300ms up l" ||
  { echo "FAIL: setup: topology (triggered schedule)"; exit 1; }
T=$MPX_LKT
pid=$(mpx_topo_link_pid "$T" l)
nsa=$(mpx_topo_ns "$T" a)
lk_warm "$T"
slog=$out2/l.schedule.jsonl
txd0=$(ip -n "$nsa" -j -s link show eth0 | jq '.[0].stats64.tx.dropped')
cc() { ip netns exec "$nsa" cat /sys/class/net/eth0/carrier_down_count /sys/class/net/eth0/carrier_up_count | tr '\n' ' '; }
cc0=$(cc)
# probes for 3 s; the trigger 300 ms into them (nothing happens before it: the entries wait)
( sleep 0.3; kill -USR2 "$pid" ) & trg=$!
lk_probe "$T" "$out2/rx" 3000 1000 --idle-ms 2500
wait "$trg"
jq -c . "$slog" | sed 's/^/info: schedule log: /'
ev() { jq -r --arg a "$1" --argjson k "$2" 'select(.act == $a and .trigger == $k) | .real_us' "$slog" | head -n1; }
tt=$(ev trigger 1) tcd=$(ev carrier-down 1) tcu=$(ev carrier-up 1) td=$(ev down 1) tu=$(ev up 1)
t_check "one trigger, four actions logged" test -n "$tt" -a -n "$tcd" -a -n "$tcu" -a -n "$td" -a -n "$tu"
[ -n "$tt" ] && [ -n "$tcd" ] && [ -n "$tcu" ] && [ -n "$td" ] && [ -n "$tu" ] || { cat "$out2/l.log" 2>/dev/null; t_done; }
# each action at its offset from the trigger in the emulator's clock: never early; late by at
# most the emulator's own worst timer wakeup lateness (stats diag) + 1 ms of batched reads
stats=$(mpx_topo_link_stats "$T" l)
wmax=$(jq '.diag.wake_late_us.max // 0' <<< "$stats")
for x in "carrier-down $tcd 300" "carrier-up $tcu 700" "down $td 2000" "up $tu 2300"; do
  read -r a t off <<< "$x"
  d=$(( (t - tt) / 1000 ))
  t_check "$a at trigger + $d ms (offset $off ms, wakeup lateness max $wmax us)" \
    awk -v d="$(( t - tt ))" -v o="$off" -v w="$wmax" 'BEGIN { exit !(d >= o * 1000 && d <= o * 1000 + w + 1000) }'
done
# the host's kernel counted one carrier loss and one carrier return (its own counters)
cc1=$(cc)
t_check "host a carrier down/up counts $cc0-> $cc1" test "$(awk -v a="$cc0" -v b="$cc1" 'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2] }')" = "1 1"
txd1=$(ip -n "$nsa" -j -s link show eth0 | jq '.[0].stats64.tx.dropped')
echo "info: host a eth0 tx_dropped $txd0 -> $txd1"
t_check "host a dropped its own frames while the carrier was off (tx_dropped $txd0 -> $txd1)" test "$txd1" -gt "$txd0"
# receiver: nothing while the carrier is off or the link is blackholed (frames delivered before
# an action are at most 1 ms of batched reads older than its logged time); traffic between
awk -F, 'NR > 1 {printf "%.0f %.0f\n", $3 / 1000, $2 / 1000}' "$out2/rx.csv" > "$out2/t"
n_cd=$(awk -v a="$tcd" -v b="$tcu" '$1 > a + 1000 && $1 < b' "$out2/t" | wc -l)
n_bh=$(awk -v a="$td" -v b="$tu" '$1 > a + 1000 && $1 < b' "$out2/t" | wc -l)
n_mid=$(awk -v a="$tcu" -v b="$td" '$1 > a && $1 < b' "$out2/t" | wc -l)
first=$(awk -v a="$tcu" '$1 > a {print int(($1 - a) / 1000); exit}' "$out2/t")
echo "info: received while carrier off $n_cd, blackholed $n_bh, between $n_mid; first after carrier-up +${first:-none} ms"
t_check "nothing received while the carrier was off ($n_cd)" test "$n_cd" = 0
t_check "nothing received while blackholed ($n_bh)" test "$n_bh" = 0
t_check "traffic between carrier-up and the blackhole ($n_mid >= 100)" test "$n_mid" -ge 100
# the emulator's drop log: blackhole drops only inside [down, up], none for carrier loss
# (the same clock: t_us since the emulator's start in both files). Carrier loss empties the link:
# the frames on it at that moment are logged at the carrier-down time, as a cut link loses them.
evt() { jq -r --arg a "$1" 'select(.act == $a and .trigger == 1) | .t_us' "$slog" | head -n1; }
jq -s -c '[.[] | select(.reason == "down") | .t_us]' "$out2/l.events.jsonl" > "$out2/dd"
# (jq quiet inside the check: a redirect after t_check would hide its PASS/FAIL line too)
mpx_lkt_jq_quiet() { jq "$@" > /dev/null; }
# A drop is logged at its frame's arrival stamp, or at the cut's time when the frame arrived
# before the cut but was read after it (it was on the link then, as the flushed frames were)
mpx_lkt_cut_drops() { # the cut drops outside [down, up] but the carrier-down flush, and the count inside
  jq -c --argjson c "$(evt carrier-down)" --argjson a "$(evt down)" --argjson b "$(evt up)" \
    '{outside: [.[] | select((. >= $a and . <= $b) or . == $c | not)], inside: ([.[] | select(. >= $a and . <= $b)] | length)}' "$out2/dd"
}
cd_res=$(mpx_lkt_cut_drops)
t_check "blackhole drops logged inside [down, up], carrier loss only flushes the link at its time ($cd_res)" \
  mpx_lkt_jq_quiet -e '.inside > 100 and (.outside | length) == 0' <<< "$cd_res"
# a trigger while the carrier is off restores it at once and restarts the entries
cc2=$(cc)
kill -USR2 "$pid"
for _ in $(seq 1 300); do [ -n "$(ev carrier-down 2)" ] && break; sleep 0.01; done
kill -USR2 "$pid"
for _ in $(seq 1 300); do jq -e 'select(.trigger == 3)' "$slog" > /dev/null 2>&1 && break; sleep 0.01; done
t3=$(jq -r 'select(.trigger == 3 and (.act | startswith("trigger"))) | .act' "$slog")
cu2=$(ev carrier-up 2)
# which one is right depends on whether the third signal beat the second carrier-up: either
# way the log says so, and the host's carrier is on right after
if [ -n "$cu2" ]; then want=trigger; else want=trigger-restore; fi
t_check "third trigger is '$want' (second carrier-up logged ${cu2:-no})" test "$t3" = "$want"
cc3=$(cc)
t_check "host a got its carrier back (down/up counts $cc2-> $cc3)" awk -v a="$cc2" -v b="$cc3" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(y[2] > x[2]) }'
mpx_lkt_down
t_check "emulator exits cleanly after the triggers (stats written)" test -s "$out2/l.stats.json"
[ "$T_FAILED" = 0 ] || { echo "--- schedule log"; cat "$slog"; echo "--- down drops (t_us)"; cat "$out2/dd"; }
t_done
