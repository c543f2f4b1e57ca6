#!/usr/bin/env bash
# A lost TFO SYN, a lost SYN/ACK and a lost Convert reply, emulated (real kernel, mpx-linkem's
# scheduled drop=IDX on the DSL link) and simulated (mpx-sim on the same resolved links, which
# reuse mpx-linkem's link logic), one Convert connection each plus an undisturbed one:
#   - the emulator and the simulator dropped the same frame (direction, index, frame length);
#   - Linux's timers: the SYN (Convert + request) and the SYN/ACK cases cost what the model
#     says, i.e. the drop's extra time D = TTFB(rep 1, dropped) - TTFB(rep 2, undisturbed)
#     satisfies  -(L + j) <= D_emu - D_sim <= G + L, where
#       L = the run's measured emulator lateness: the sum over the variant's link directions of
#           their largest release lateness (stats late_us.max): no frame of the run left later;
#       j = one jiffy (1/CONFIG_HZ): a kernel timer starts on a jiffy boundary;
#       G = the timer wheel's rounding of the 1 s SYN/SYN-ACK timer: the timer fires on a
#           multiple of its level's granularity, 8^level jiffies (level 0 below 64 jiffies,
#           1 below 512, 2 below 4096), up to G = 8^level + 1 jiffies late.
#     Subtracting the undisturbed connection of the same variant removes the agents'
#     processing time, which the model leaves out by design (the residual of every run).
#   - the Convert reply: Linux sends a tail-loss probe (the response segment again, 2 SRTT +
#     2 jiffies after it) and the RTO (SRTT + 200 ms) then runs from the probe; the capture
#     must show the probe (the 1000-byte response segment twice before the 4-byte reply) and
#     the same bound holds with G = 4 jiffies: two timers of fewer than 64 jiffies (level 0),
#     each rounded up to a whole jiffy and firing on a jiffy boundary, where the model counts
#     exact nanoseconds.
# Jitter is off on the links (the same seeds draw the same jitter per index, but the kernel
# sends a few frames the model does not, which would shift the draws).
# timeout: 60
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
t_require_harness
t_require_bin mpx-sim
t_require_cmd tcpdump
tmp=$(mktemp -d /tmp/mpx-lossmatch.XXXXXX); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/lm.exp" <<'EOF'
description  scheduled single-packet drops on the DSL link (tests/integration/sim_loss_match.sh)
topology     hybrid.topo
signals      convert
workload     rr 100/1000
repetitions  2
seed         1
warmup       0
mptcp        on
sysctl       hag net.ipv4.tcp_fastopen=0x3
model        cp=dsl ps=wan
param        dsl.jitter=0 lte.jitter=0 lte.loss=0%
timeout      conn 5s
variant syn     param dsl.ba.drop=0
variant synack  param dsl.ab.drop=0
variant reply   param dsl.ab.drop=1
EOF
out=$tmp/run
timeout 55 ./mpxlab run "$tmp/lm.exp" --out "$out" --no-plots --quiet --accept-unfaithful > "$tmp/run.out" 2> "$tmp/run.err"
rc=$?
t_check run_rc test "$rc" = 0
[ -s "$out/connections.jsonl" ] || { tail -n 20 "$tmp/run.err" "$out/logs/run.log" 2>/dev/null; t_fail results "no connections.jsonl"; t_done; }
hz=$( { zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null; } | sed -n 's/^CONFIG_HZ=//p' | head -n 1)
[ -n "$hz" ] || hz=100 # unknown: the coarsest common jiffy, the widest bound
jiffy_us=$(( 1000000 / hz ))
syn_j=$hz # the SYN and SYN/ACK timers: 1 s in jiffies
if [ "$syn_j" -lt 64 ]; then gran=1; elif [ "$syn_j" -lt 512 ]; then gran=8; else gran=64; fi
g_us=$(( (gran + 1) * jiffy_us ))
echo "CONFIG_HZ=$hz: jiffy $jiffy_us us, 1 s timer granularity G = $g_us us"

for v in syn synack reply; do
  # the simulator on the variant's resolved links and plan, as the harness's cross-check runs it
  timeout 30 "$MPX_ROOT/bin/mpx-sim" --variant "$out/links/$v" --plan "$out/plan.csv" --name "$v" \
    --workload "rr 100/1000" --no-warmup --syn-data-policy cookie --conn-timeout 5 \
    --drop-log "$tmp/$v.simdrops" --out "$tmp/$v.sim" 2> "$tmp/$v.simerr"
  t_check "$v/sim_rc" test "$?" = 0
  emu_drop=$(cat "$out/pcaps/$v"/*.events.jsonl 2>/dev/null | jq -r -s 'map(select(.reason == "loss")) | map("\(.dir) \(.idx) \(.len)") | join(";")')
  sim_drop=$(jq -r -s 'map(select(.reason == "loss")) | map("\(.dir) \(.idx) \(.len)") | join(";")' "$tmp/$v.simdrops")
  echo "$v: dropped (dir idx len): emulated '$emu_drop', simulated '$sim_drop'"
  t_check "$v/same_frame_dropped" test -n "$emu_drop" -a "$emu_drop" = "$sim_drop"
  # TTFB of rep 1 (dropped) and rep 2 (undisturbed), us
  read -r e1 e2 < <(jq -r -s --arg v "$v" '[map(select(.variant == $v and .ok)) | sort_by(.rep)[] | .ttfb_us] | map(tostring) | join(" ")' "$out/connections.jsonl")
  read -r s1 s2 < <(jq -r -s '[sort_by(.rep)[] | select(.ok) | .ttfb_ms * 1000 | round] | map(tostring) | join(" ")' "$tmp/$v.sim")
  if [ -z "${e2:-}" ] || [ -z "${s2:-}" ]; then t_fail "$v/ttfb" "missing connections: emulated '$e1 ${e2:-}', simulated '$s1 ${s2:-}'"; continue; fi
  late=$(jq -s '[.[] | (.ab.late_us.max // 0) + (.ba.late_us.max // 0)] | add // 0' "$out/pcaps/$v"/*.stats.json)
  d=$(( (e1 - e2) - (s1 - s2) ))
  echo "$v: emulated $e1 / $e2 us, simulated $s1 / $s2 us; drop costs $((e1 - e2)) vs $((s1 - s2)) us: difference $d us; lateness L = $late us"
  lo=$(( -(late + jiffy_us) ))
  hi=$(( g_us + late ))
  if [ "$v" = reply ]; then
    hi=$(( 4 * jiffy_us + late ))
    # the probe: the 1000-byte response segment from the converter twice before the reply
    seq=$(tcpdump -nn -r "$out/pcaps/reply/dsl.pcap" 2>/dev/null | awk '/198\.18\.1\.1\.5124 >/ && / length (4|1000)$/ { print $NF }' | head -n 3 | tr '\n' ' ')
    echo "reply: converter's first payload frames (lengths): $seq"
    t_check reply/linux_sent_tail_loss_probe test "$seq" = "1000 1000 4 "
  fi
  if [ "$d" -ge "$lo" ] && [ "$d" -le "$hi" ]; then t_pass "$v/timer_matches"
  else t_fail "$v/timer_matches" "difference $d us outside [$lo, $hi]"; fi
done
t_done
